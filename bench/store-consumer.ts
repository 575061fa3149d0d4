/**
 * `npm run bench:store [-- --jobs 20000 --batch 100,500,1000 --bus memory|rabbitmq --group 0.2]`
 *
 * Rows per second the store's persistence consumer writes to PostgreSQL
 * (the test server, WHALESHARK_TEST_DATABASE_URL, a fresh database per run).
 * The jobs are queued before the consumer starts, so the clock measures
 * draining: decode, batch, one transaction per batch, ack. A P2P job is 3
 * rows (body + 2 history rows), a group job 2 (body + group history row).
 * `--bus memory` (default) isolates the consumer and the database;
 * `--bus rabbitmq` adds the broker (WHALESHARK_TEST_AMQP_URL).
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { MemoryBus } from "../lib/adapters/memory/bus.js";
import { RabbitMqBus } from "../lib/adapters/rabbitmq/bus.js";
import type { Bus } from "../lib/ports/bus.js";
import { declareStoreQueues, STORE_QUEUES } from "../lib/queues/store-queues.js";
import { migratedTestDatabase } from "../lib/testing/migrated-database.js";
import { createTestQueuePrefix } from "../lib/testing/rabbitmq.js";
import { startStoreConsumer } from "../services/store/consumer/store-consumer.js";
import { groupJob, p2pJob } from "../services/store/consumer/test-jobs.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "20000" },
    batch: { type: "string", default: "100,500,1000" },
    bus: { type: "string", default: "memory" },
    group: { type: "string", default: "0.2" },
    wait: { type: "string", default: "20" },
  },
});
const jobs = Number(values.jobs);
const groupShare = Number(values.group);
const logger = pino({ level: "warn" });

interface Result {
  batch: number;
  jobs: number;
  rows: number;
  seconds: number;
}

async function openBus(): Promise<{ bus: Bus; close(): Promise<void> }> {
  if (values.bus === "rabbitmq") {
    const q = createTestQueuePrefix();
    const bus = await RabbitMqBus.connect({ url: q.url, prefix: q.prefix, logger });
    return {
      bus,
      close: async () => {
        await bus.close();
        await q.cleanup(bus.createdQueues());
      },
    };
  }
  const bus = new MemoryBus();
  return { bus, close: () => bus.close() };
}

async function runOnce(batch: number, appId: number): Promise<Result> {
  const testDb = await migratedTestDatabase(4);
  const { bus, close } = await openBus();
  try {
    await declareStoreQueues(bus);
    let rows = 0;
    const groupEvery = groupShare > 0 ? Math.round(1 / groupShare) : 0;
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < jobs; i++) {
      const m = { appId, key: 10_000_000 + i, seq: i + 1, from: `u${i % 1000}`, to: `u${(i % 1000) + 1}` };
      if (groupEvery > 0 && i % groupEvery === 0) {
        publishes.push(bus.publish(STORE_QUEUES.group, groupJob({ ...m, to: `g${i % 50}` })));
        rows += 2;
      } else {
        publishes.push(bus.publish(STORE_QUEUES.p2p, p2pJob(m)));
        rows += 3;
      }
      if (publishes.length >= 500) await Promise.all(publishes.splice(0));
    }
    await Promise.all(publishes);

    const started = process.hrtime.bigint();
    const consumer = await startStoreConsumer({
      bus,
      db: testDb.db,
      logger,
      batchSize: batch,
      batchWaitMs: Number(values.wait),
      maxAttempts: 5,
    });
    const done = () => consumer.counts("p2p").stored + consumer.counts("group").stored >= jobs;
    while (!done()) await new Promise((r) => setTimeout(r, 5));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const written = consumer.counts("p2p").rows + consumer.counts("group").rows;
    await consumer.stop();
    if (written !== rows) throw new Error(`expected ${rows} rows, the consumer wrote ${written}`);
    return { batch, jobs, rows, seconds };
  } finally {
    await close();
    await testDb.close();
  }
}

async function main(): Promise<void> {
  const batches = String(values.batch)
    .split(",")
    .map((b) => Number(b.trim()));
  process.stdout.write(
    `store consumer bench: ${jobs} jobs (${Math.round(groupShare * 100)}% group), bus ${values.bus}, ` +
      `PostgreSQL ${process.env.WHALESHARK_TEST_DATABASE_URL ?? "127.0.0.1:5432"}, batchWaitMs ${values.wait}\n`,
  );
  for (const [i, batch] of batches.entries()) {
    const r = await runOnce(batch, 30_000 + i);
    process.stdout.write(
      `batch ${String(r.batch).padStart(5)}: ${r.rows} rows in ${r.seconds.toFixed(2)} s = ` +
        `${Math.round(r.rows / r.seconds)} rows/s (${Math.round(r.jobs / r.seconds)} jobs/s)\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench:store failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
