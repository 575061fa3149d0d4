import pg from "pg";
import { migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { P2P } from "../../lib/wire/conversation-type.js";
import type { StoredMessage } from "../../services/store/consumer/jobs.js";
import { writeMessages } from "../../services/store/consumer/message-writer.js";
import { dropExpiredPartitions, monthRange } from "../../services/store/partitions/message-partitions.js";
import { sweepExpired } from "../../services/store/retention/message-retention.js";

/**
 * Inputs I7, I8 and I10 of docs/scaling.md, measured (not a test: run it by hand on a quiet machine):
 *   npx tsx test/store/measure-message-rows.ts            # N=60000 by default
 * Writes N P2P messages (100-byte bodies, 2 000 users) through the store's own batch statement in
 * batches of 500 (`store.batchSize`), one writer, into a fresh database on the test server, in each
 * of two months (next month and the one after: the message tables are partitioned by month), then
 * prints the writer's rate and CPU and each table's size per message (all partitions, tables and
 * indexes, after VACUUM). Then retention: the first month dropped whole (its partitions, then its
 * sender id rows by index), the second deleted row by row (a cutoff inside it; batches of 1 000 as
 * the store runs them, no pause). The database is dropped afterwards.
 */
const N = Number(process.env.N ?? 60_000);
const USERS = 2_000;
const BATCH = 500;

const test = await migratedTestDatabase(2);
const months = [monthRange(Date.now(), 1), monthRange(Date.now(), 2)];
const sequences = new Map<string, bigint>();
const body = "x".repeat(100);
const messages: StoredMessage[] = [];
for (const [m, month] of months.entries()) {
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
      messageKey: month.from + BigInt(i),
      messageId: `mid-${m}-${i}-abcdef`,
      fromId: from,
      toId: to,
      sequence,
      body,
      messageTime: at,
      extra: "",
      acceptedTime: at,
    });
  }
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
for (let i = 0; i < messages.length; i += BATCH) await writeMessages(test.db, messages.slice(i, i + BATCH));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);

const client = new pg.Client({ connectionString: test.url });
await client.connect();
await client.query("VACUUM ANALYZE");
// a partitioned table's own size is 0: sum its partitions (pg_partition_tree is empty for a plain table)
const sizes = await client.query<{ relname: string; total: string; heap: string }>(
  `SELECT t AS relname, sum(pg_total_relation_size(r)) AS total, sum(pg_relation_size(r)) AS heap
   FROM unnest(ARRAY['im_message_body', 'im_message_history', 'im_message_id', 'im_conversation_set',
     'im_sequence_high_water']) AS t,
     LATERAL (SELECT relid AS r FROM pg_partition_tree(t::regclass) UNION SELECT t::regclass) AS parts
   GROUP BY t ORDER BY t`,
);
const written = messages.length;
for (const row of sizes.rows) {
  const perMessage = (bytes: string) => (Number(bytes) / written).toFixed(0);
  console.log(
    `${row.relname}: ${perMessage(row.total)} B/message with indexes, ${perMessage(row.heap)} B heap`,
  );
}
console.log({
  messages: written,
  seconds: seconds.toFixed(2),
  messagesPerSecond: Math.round(written / seconds),
  writerCpuMsPerMessage: ((cpu.user + cpu.system) / 1000 / written).toFixed(4),
});

const unbounded = { batchSize: 1_000, maxBatches: Number.MAX_SAFE_INTEGER, pauseMs: 0 };
const timed = async (cutoff: bigint) => {
  const started = performance.now();
  const swept = await sweepExpired(test.db, cutoff, unbounded);
  return { swept, seconds: (performance.now() - started) / 1000 };
};
const dropStarted = performance.now();
const dropped = await dropExpiredPartitions(test.db, months[0]?.to ?? 0n);
const dropSeconds = (performance.now() - dropStarted) / 1000;
const ids = await timed(months[0]?.to ?? 0n);
console.log({
  monthDropped: { messages: N, partitions: dropped.length, seconds: dropSeconds.toFixed(3) },
  itsIdsDeleted: {
    ids: ids.swept.ids,
    seconds: ids.seconds.toFixed(2),
    idsPerSecond: Math.round(ids.swept.ids / ids.seconds),
  },
});
const rows = await timed((months[1]?.from ?? 0n) + BigInt(N));
console.log({
  retentionDeletedRowByRow: rows.swept.bodies,
  seconds: rows.seconds.toFixed(2),
  messagesPerSecond: Math.round(rows.swept.bodies / rows.seconds),
});
await client.end();
await test.close();
