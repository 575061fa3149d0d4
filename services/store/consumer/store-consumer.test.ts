import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryBus } from "../../../lib/adapters/memory/bus.js";
import type { Database } from "../../../lib/ports/db.js";
import { BATCH_HEADERS, replayStoreDeadLetters, STORE_QUEUES } from "../../../lib/queues/store-queues.js";
import { bothDatabases, withTestDatabase } from "../../../lib/testing/both-databases.js";
import { migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { type StoreConsumer, startStoreConsumer } from "./store-consumer.js";
import { groupJob, groupJobs, p2pJob, p2pJobs } from "./test-jobs.js";

const logger = pino({ level: "silent" });

/** Polls until `check` passes (the consumer works asynchronously). */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The consumer's SQL runs on both adapters of the db port. */
const databases = bothDatabases();

describe.each(databases)("store consumer (memory bus, %s)", (_name, openDb) => {
  let db!: Database;
  let bus: MemoryBus;
  let consumer: StoreConsumer;
  let appId = 100;

  withTestDatabase(openDb, (opened) => {
    db = opened;
  });
  afterEach(async () => {
    await consumer?.stop();
    await bus?.close();
  });

  async function start(batchSize = 50) {
    appId++; // each test its own app, so counts never see another test's rows
    bus = new MemoryBus();
    consumer = await startStoreConsumer({
      bus,
      db,
      logger,
      batchSize,
      batchWaitMs: 5,
      maxAttempts: 3,
      retryDelayMs: 10,
    });
    return appId;
  }

  it("stores a P2P message once with one history row per owner (write diffusion)", async () => {
    const app = await start();
    await bus.publish(STORE_QUEUES.p2p, p2pJob({ appId: app, key: 1001, seq: 1, from: "alice", to: "bob" }));
    await eventually(async () => expect(consumer.counts("p2p").stored).toBe(1));
    const body = await db.messageBody.findUniqueOrThrow({ where: { messageKey: 1001n } });
    expect(body).toMatchObject({
      appId: app,
      conversationType: 0,
      fromId: "alice",
      toId: "bob",
      messageId: "mid-1001",
    });
    expect(body.messageSequence).toBe(1n);
    const rows = await db.messageHistory.findMany({
      where: { messageKey: 1001n },
      orderBy: { ownerId: "asc" },
    });
    expect(rows.map((r) => [r.ownerId, r.peerId, r.fromId, r.toId])).toEqual([
      ["alice", "bob", "alice", "bob"],
      ["bob", "alice", "alice", "bob"],
    ]);
    expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 0 });
  });

  it("stores a message to oneself with a single history row", async () => {
    const app = await start();
    await bus.publish(STORE_QUEUES.p2p, p2pJob({ appId: app, key: 1101, seq: 1, from: "me", to: "me" }));
    await eventually(async () => expect(consumer.counts("p2p").stored).toBe(1));
    expect(await db.messageHistory.count({ where: { messageKey: 1101n } })).toBe(1);
  });

  it("stores a group message once with one group history row (read diffusion)", async () => {
    const app = await start();
    await bus.publish(
      STORE_QUEUES.group,
      groupJob({ appId: app, key: 2001, seq: 5, from: "alice", to: "g1" }),
    );
    await eventually(async () => expect(consumer.counts("group").stored).toBe(1));
    const rows = await db.groupMessageHistory.findMany({ where: { messageKey: 2001n } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ appId: app, groupId: "g1", fromId: "alice", sequence: 5n });
    expect((await db.messageBody.findUniqueOrThrow({ where: { messageKey: 2001n } })).toId).toBe("g1");
  });

  it("writes nothing twice for redelivered jobs, in one batch or across batches", async () => {
    const app = await start(10);
    const jobs = Array.from({ length: 30 }, (_, i) =>
      p2pJob({ appId: app, key: 3000 + i, seq: i + 1, from: "a", to: "b" }),
    );
    for (const j of jobs) await bus.publish(STORE_QUEUES.p2p, j);
    for (const j of jobs.slice(0, 10)) await bus.publish(STORE_QUEUES.p2p, j); // redelivered copies
    await eventually(async () =>
      expect(consumer.counts("p2p").stored + consumer.counts("p2p").redelivered).toBe(40),
    );
    expect(consumer.counts("p2p").stored).toBe(30);
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(30);
    expect(await db.messageHistory.count({ where: { appId: app } })).toBe(60);
    expect(consumer.counts("p2p").batches).toBeGreaterThanOrEqual(3);
  });

  it("drops a second message with a stored message_id, counting it as a conflict", async () => {
    const app = await start();
    await bus.publish(
      STORE_QUEUES.p2p,
      p2pJob({ appId: app, key: 4001, seq: 1, from: "a", to: "b", messageId: "same" }),
    );
    await eventually(async () => expect(consumer.counts("p2p").stored).toBe(1));
    await bus.publish(
      STORE_QUEUES.p2p,
      p2pJob({ appId: app, key: 4002, seq: 2, from: "a", to: "b", messageId: "same" }),
    );
    await eventually(async () => expect(consumer.counts("p2p").conflicts).toBe(1));
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(1);
    expect(await db.messageHistory.count({ where: { messageKey: 4002n } })).toBe(0);
  });

  it("sends a poison job to the dead-letter queue while the rest of its batch commits", async () => {
    const app = await start(20);
    for (let i = 0; i < 20; i++) {
      const body = i === 7 ? "x".repeat(6000) : undefined; // over VARCHAR(5000)
      await bus.publish(
        STORE_QUEUES.p2p,
        p2pJob({ appId: app, key: 5000 + i, seq: i + 1, from: "a", to: "b", body }),
      );
    }
    await eventually(async () => expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 1 }));
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(19);
    const counts = consumer.counts("p2p");
    expect(counts.stored).toBe(19);
    expect(counts.rejected).toBe(3); // once per attempt (maxAttempts 3)
    expect(counts.splits).toBeGreaterThan(0);
  });

  it("stores every job of a batch message (one bus message, header jobs: batch)", async () => {
    const app = await start();
    const p2p = Array.from({ length: 40 }, (_, i) => ({
      appId: app,
      key: 8000 + i,
      seq: i + 1,
      from: "a",
      to: "b",
    }));
    await bus.publish(STORE_QUEUES.p2p, p2pJobs(p2p), { ...BATCH_HEADERS });
    const group = Array.from({ length: 5 }, (_, i) => ({
      appId: app,
      key: 8100 + i,
      seq: i + 1,
      from: "a",
      to: "g",
    }));
    await bus.publish(STORE_QUEUES.group, groupJobs(group), { ...BATCH_HEADERS });
    await eventually(async () => expect(consumer.counts("p2p").stored).toBe(40));
    await eventually(async () => expect(consumer.counts("group").stored).toBe(5));
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(45);
    expect(await db.messageHistory.count({ where: { appId: app } })).toBe(80); // group rows live elsewhere
    expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 0 });
  });

  it("writes a batch's good jobs and dead-letters the batch whole when one job is bad", async () => {
    const app = await start();
    const jobs = Array.from({ length: 10 }, (_, i) => ({
      appId: app,
      key: 8200 + i,
      seq: i + 1,
      from: "a",
      to: "b",
    }));
    const withPoison = jobs.map((m, i) => (i === 3 ? { ...m, body: "x".repeat(6000) } : m)); // over VARCHAR(5000)
    const withIncomplete = jobs.map((m, i) => (i === 6 ? { ...m, key: 8300, messageId: "" } : m));
    await bus.publish(STORE_QUEUES.p2p, p2pJobs(withPoison), { ...BATCH_HEADERS });
    await eventually(async () => expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 1 }));
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(9);
    // a job without message_id is refused on its own; the others of its batch are found stored
    await bus.publish(STORE_QUEUES.p2p, p2pJobs(withIncomplete), { ...BATCH_HEADERS });
    await eventually(async () => expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 2 }));
    expect(consumer.counts("p2p").invalid).toBe(3); // once per attempt
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(10); // job 3 stored from the second batch
    expect(await db.messageHistory.count({ where: { appId: app } })).toBe(20); // stored once each
    expect(await db.messageBody.count({ where: { messageKey: 8300n } })).toBe(0);
  });

  it("dead-letters undecodable jobs and keeps consuming", async () => {
    const app = await start();
    await bus.publish(STORE_QUEUES.group, new Uint8Array([1, 2, 3]));
    await eventually(async () => expect((await bus.depth(STORE_QUEUES.group)).dead).toBe(1));
    expect(consumer.counts("group").invalid).toBe(3);
    await bus.publish(STORE_QUEUES.group, groupJob({ appId: app, key: 6001, seq: 1, from: "a", to: "g" }));
    await eventually(async () => expect(consumer.counts("group").stored).toBe(1));
  });

  it("stop() writes the jobs in hand before returning", async () => {
    const app = await start(1000);
    for (let i = 0; i < 5; i++) {
      await bus.publish(
        STORE_QUEUES.p2p,
        p2pJob({ appId: app, key: 7000 + i, seq: i + 1, from: "a", to: "b" }),
      );
    }
    await new Promise((r) => setTimeout(r, 1)); // handed to the consumer, batch not yet full
    await consumer.stop();
    expect(await db.messageBody.count({ where: { appId: app } })).toBe(5);
  });
});

describe("dead-letter replay (memory bus, PostgreSQL)", () => {
  it("stores a dead-lettered job once its cause is fixed and the queue is replayed", async () => {
    const testDb = await migratedTestDatabase();
    const bus = new MemoryBus();
    const consumer = await startStoreConsumer({
      bus,
      db: testDb.db,
      logger,
      batchSize: 10,
      batchWaitMs: 5,
      maxAttempts: 2,
      retryDelayMs: 10,
    });
    try {
      const long = "y".repeat(7000);
      await bus.publish(
        STORE_QUEUES.p2p,
        p2pJob({ appId: 900, key: 9001, seq: 1, from: "a", to: "b", body: long }),
      );
      await eventually(async () => expect((await bus.depth(STORE_QUEUES.p2p)).dead).toBe(1));
      // the fix: a wider column (a later migration would do this)
      await testDb.db.$executeRawUnsafe(
        "ALTER TABLE im_message_body ALTER COLUMN message_body TYPE VARCHAR(10000)",
      );
      expect(await replayStoreDeadLetters(bus)).toEqual({ p2p: 1, group: 0 });
      await eventually(async () => expect(consumer.counts("p2p").stored).toBe(1));
      expect(
        (await testDb.db.messageBody.findUniqueOrThrow({ where: { messageKey: 9001n } })).messageBody,
      ).toBe(long);
      expect(await bus.depth(STORE_QUEUES.p2p)).toEqual({ ready: 0, dead: 0 });
    } finally {
      await consumer.stop();
      await bus.close();
      await testDb.close();
    }
  });
});
