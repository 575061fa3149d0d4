import pg from "pg";
import { migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { P2P, type StoredMessage } from "../../services/store/consumer/jobs.js";
import { writeMessages } from "../../services/store/consumer/message-writer.js";
import { sweepExpired } from "../../services/store/retention/message-retention.js";

/**
 * Inputs I7 and I8 of docs/scaling.md, measured (not a test: run it by hand on a quiet machine):
 *   npx tsx test/store/measure-message-rows.ts            # N=60000 by default
 * Writes N P2P messages (100-byte bodies, 2 000 users) through the store's own batch statement in
 * batches of 500 (`store.batchSize`), one writer, into a fresh database on the test server, then
 * prints the writer's rate and CPU and each table's size per message (tables and indexes, after
 * VACUUM), then how fast retention deletes them again (batches of 1 000 as the store runs it, no
 * pause). The database is dropped afterwards.
 */
const N = Number(process.env.N ?? 60_000);
const USERS = 2_000;
const BATCH = 500;

const test = await migratedTestDatabase(2);
const sequences = new Map<string, bigint>();
const body = "x".repeat(100);
const messages: StoredMessage[] = [];
for (let i = 0; i < N; i++) {
  const from = `user-${(i * 13) % USERS}`;
  const to = `user-${(i * 7 + 1) % USERS}`;
  const pair = [from, to].sort().join("_");
  const sequence = (sequences.get(pair) ?? 0n) + 1n;
  sequences.set(pair, sequence);
  const at = 1_765_000_000_000n + BigInt(i);
  messages.push({
    conversationType: P2P,
    appId: 10001,
    messageKey: 7_000_000_000_000_000n + BigInt(i),
    messageId: `mid-${i}-abcdef`,
    fromId: from,
    toId: to,
    sequence,
    body,
    messageTime: at,
    extra: "",
    acceptedTime: at,
  });
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
for (let i = 0; i < messages.length; i += BATCH) await writeMessages(test.db, messages.slice(i, i + BATCH));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);

const client = new pg.Client({ connectionString: test.url });
await client.connect();
await client.query("VACUUM ANALYZE");
const sizes = await client.query<{ relname: string; total: string; heap: string }>(
  `SELECT relname, pg_total_relation_size(oid) AS total, pg_relation_size(oid) AS heap FROM pg_class
   WHERE relname IN ('im_message_body', 'im_message_history', 'im_conversation_set', 'im_sequence_high_water')
   ORDER BY relname`,
);
for (const row of sizes.rows) {
  const perMessage = (bytes: string) => (Number(bytes) / N).toFixed(0);
  console.log(
    `${row.relname}: ${perMessage(row.total)} B/message with indexes, ${perMessage(row.heap)} B heap`,
  );
}
console.log({
  messages: N,
  seconds: seconds.toFixed(2),
  messagesPerSecond: Math.round(N / seconds),
  writerCpuMsPerMessage: ((cpu.user + cpu.system) / 1000 / N).toFixed(4),
});

const deleteStarted = performance.now();
const swept = await sweepExpired(test.db, 7_000_000_000_000_000n + BigInt(N), {
  batchSize: 1_000,
  maxBatches: Number.MAX_SAFE_INTEGER,
  pauseMs: 0,
});
const deleteSeconds = (performance.now() - deleteStarted) / 1000;
console.log({
  retentionDeleted: swept.bodies,
  seconds: deleteSeconds.toFixed(2),
  messagesPerSecond: Math.round(swept.bodies / deleteSeconds),
});
await client.end();
await test.close();
