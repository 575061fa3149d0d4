import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../../lib/adapters/postgres/migration-target.js";
import { RabbitMqBus } from "../../lib/adapters/rabbitmq/bus.js";
import { applyMigrations, readMigrations } from "../../lib/migrate/runner.js";
import type { Bus } from "../../lib/ports/bus.js";
import type { Database } from "../../lib/ports/db.js";
import { STORE_QUEUES } from "../../lib/queues/store-queues.js";
import { migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { createTestQueuePrefix } from "../../lib/testing/rabbitmq.js";
import { type StoreConsumer, startStoreConsumer } from "../../services/store/consumer/store-consumer.js";
import { groupJob, p2pJob } from "../../services/store/consumer/test-jobs.js";
import { eventually } from "../support/harness/eventually.js";
import { startPrivatePostgres } from "./private-postgres.js";

/**
 * The persistence consumer against real RabbitMQ and PostgreSQL (issue "Done
 * when"): exactly one stored copy per job under redelivery, a poison job
 * dead-lettered while the rest flows, and no job lost while the database is
 * down for a few seconds.
 */
const logger = pino({ level: process.env.WS_TEST_LOG ?? "silent" });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function rabbit(): Promise<RabbitMqBus> {
  const q = createTestQueuePrefix();
  const bus = await RabbitMqBus.connect({ url: q.url, prefix: q.prefix, logger });
  cleanups.push(async () => {
    await bus.close();
    await q.cleanup(bus.createdQueues());
  });
  return bus;
}

/** Publishes with `concurrency` confirms in flight. */
async function publishAll(bus: Bus, jobs: Array<[string, Uint8Array]>, concurrency = 200): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const [queue, body] = jobs[next++] as [string, Uint8Array];
        await bus.publish(queue, body);
      }
    }),
  );
}

async function counts(db: Database, appId: number) {
  const [bodies, history, groupHistory] = await Promise.all([
    db.messageBody.count({ where: { appId } }),
    db.messageHistory.count({ where: { appId } }),
    db.groupMessageHistory.count({ where: { appId } }),
  ]);
  return { bodies, history, groupHistory };
}

describe("store consumer on RabbitMQ + PostgreSQL", () => {
  it("stores 10,000 jobs once each though 1,000 arrive twice, and dead-letters one poison job", async () => {
    const testDb = await migratedTestDatabase(8);
    cleanups.push(testDb.close);
    const bus = await rabbit();
    const consumer: StoreConsumer = await startStoreConsumer({
      bus,
      db: testDb.db,
      logger,
      batchSize: 500,
      batchWaitMs: 20,
      maxAttempts: 3,
      retryDelayMs: 50,
    });
    cleanups.push(() => consumer.stop());
    const appId = 20001;
    const jobs: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 10_000; i++) {
      const m = { appId, key: 1_000_000 + i, seq: i + 1, from: `u${i % 97}`, to: `u${(i % 97) + 1}` };
      jobs.push(
        i % 5 === 0
          ? [STORE_QUEUES.group, groupJob({ ...m, to: `g${i % 13}` })]
          : [STORE_QUEUES.p2p, p2pJob(m)],
      );
    }
    const twice = jobs.filter((_, i) => i % 10 === 3); // 1,000 of them again
    const poison: [string, Uint8Array] = [
      STORE_QUEUES.p2p,
      p2pJob({ appId, key: 999, seq: 1, from: "a", to: "b", body: "x".repeat(6000) }),
    ];
    const started = Date.now();
    await publishAll(bus, [...jobs.slice(0, 5000), poison, ...twice, ...jobs.slice(5000)]);

    await eventually(async () => (await counts(testDb.db, appId)).bodies >= 10_000, 120_000, "10,000 bodies");
    await eventually(
      async () => (await bus.depth(STORE_QUEUES.p2p)).dead === 1,
      30_000,
      "the poison job in the DLQ",
    );
    const elapsed = Date.now() - started;
    const c = await counts(testDb.db, appId);
    expect(c).toEqual({ bodies: 10_000, history: 16_000, groupHistory: 2_000 });
    expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 1 });
    expect(await bus.depth(STORE_QUEUES.group)).toEqual({ ready: 0, dead: 0 });
    const p2p = consumer.counts("p2p");
    const group = consumer.counts("group");
    expect(p2p.stored + group.stored).toBe(10_000);
    expect(p2p.redelivered + group.redelivered).toBe(1_000);
    expect(p2p.rejected).toBe(3);
    logger.info({ elapsed, p2p, group }, "load run done");
  }, 180_000);

  it("loses no job while the database is down for a few seconds", async () => {
    const pg = await startPrivatePostgres();
    cleanups.push(pg.destroy);
    const target = await openPostgresMigrationTarget(pg.url);
    await applyMigrations(target, await readMigrations());
    await target.close();
    const handle = await openPostgresDatabase({ url: pg.url, poolSize: 4, logger });
    cleanups.push(handle.close);
    const bus = await rabbit();
    const consumer = await startStoreConsumer({
      bus,
      db: handle.db,
      logger,
      batchSize: 100,
      batchWaitMs: 20,
      maxAttempts: 3,
      retryDelayMs: 50,
    });
    cleanups.push(() => consumer.stop());
    const appId = 20002;
    const total = 3000;
    const jobs = Array.from({ length: total }, (_, i): [string, Uint8Array] => [
      STORE_QUEUES.p2p,
      p2pJob({ appId, key: 5_000_000 + i, seq: i + 1, from: "x", to: "y" }),
    ]);

    // a steady stream, with the database stopped for 3 s in the middle of it
    const stream = (async () => {
      for (let i = 0; i < total; i += 100) {
        await publishAll(bus, jobs.slice(i, i + 100), 50);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await eventually(async () => (await counts(handle.db, appId)).bodies > 300, 30_000, "the first rows");
    await pg.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await pg.start();
    await stream;

    await eventually(
      async () => (await counts(handle.db, appId)).bodies >= total,
      90_000,
      "every job after the outage",
    );
    expect(await counts(handle.db, appId)).toEqual({ bodies: total, history: 2 * total, groupHistory: 0 });
    expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 0 });
    const p2p = consumer.counts("p2p");
    expect(p2p.unreachable).toBeGreaterThan(0); // the outage was seen...
    expect(p2p.rejected).toBe(0); // ...and cost no job a bus attempt
    expect(p2p.stored).toBe(total);
  }, 180_000);
});
