/**
 * What one group conversation move costs on PostgreSQL (services/store/consumer/group-conversations.ts):
 * for groups of 100, 1 000 and 10 000 members, a message is stored (the batch marks the group) and
 * the flusher's statement moves every member's row; printed: the statement's wall time (median of
 * `ROUNDS`) and the WAL it wrote. Not a test: `npx tsx test/store/measure-group-conversations.ts`
 * (`--pglite`: on the embedded profile's in-process PGlite instead).
 */

import { openPgliteDatabase } from "../../lib/adapters/pglite/database.js";
import { migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { GROUP } from "../../lib/wire/conversation-type.js";
import { moveGroupConversations } from "../../services/store/consumer/group-conversations.js";
import type { StoredMessage } from "../../services/store/consumer/jobs.js";
import { writeMessages } from "../../services/store/consumer/message-writer.js";

const SIZES = [100, 1_000, 10_000];
const ROUNDS = 7;

let key = 9_000_000_000n;
function message(appId: number, groupId: string): StoredMessage {
  key += 1n;
  return {
    conversationType: GROUP,
    appId,
    messageKey: key,
    messageId: `m-${key}`,
    fromId: "u0",
    toId: groupId,
    sequence: key,
    body: "x".repeat(100),
    messageTime: key,
    extra: "",
    acceptedTime: key,
  };
}

async function main(): Promise<void> {
  const pglite = process.argv.includes("--pglite");
  const test = pglite ? await openPgliteDatabase() : await migratedTestDatabase();
  console.log(pglite ? "PGlite (in-process)" : "PostgreSQL");
  const db = test.db;
  try {
    for (const [i, size] of SIZES.entries()) {
      const appId = 900 + i;
      const groupId = `g${size}`;
      await db.groupMember.createMany({
        data: Array.from({ length: size }, (_, m) => ({
          appId,
          groupId,
          memberId: `u${m}`,
          role: m === 0 ? 2 : 0,
        })),
      });
      // the members' rows exist, as after their joins; the first move then only renumbers them
      await writeMessages(db, [message(appId, groupId)]);
      await moveGroupConversations(db);
      const times: number[] = [];
      const wal: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await writeMessages(db, [message(appId, groupId)]);
        const [before] = await db.$queryRaw<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
        const start = performance.now();
        const out = await moveGroupConversations(db);
        times.push(performance.now() - start);
        const [after] = await db.$queryRaw<{ bytes: number }[]>`
          SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${before?.lsn}::pg_lsn)::float8 AS bytes`;
        wal.push(after?.bytes ?? 0);
        if (out.conversations !== size) throw new Error(`moved ${out.conversations} rows, expected ${size}`);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      console.log(
        `${size} members: move ${median(times).toFixed(1)} ms (median of ${ROUNDS}; min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}), WAL ${(median(wal) / 1024).toFixed(0)} KiB (${(median(wal) / size).toFixed(0)} B per member)`,
      );
    }
  } finally {
    await test.close();
  }
}

await main();
