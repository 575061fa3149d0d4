import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../gen/prisma/client.js";
import { pgliteMigrationTarget } from "../../lib/adapters/pglite/migration-target.js";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../../lib/adapters/postgres/migration-target.js";
import { translatingDriverAdapter } from "../../lib/adapters/prisma-errors.js";
import { MESSAGE_KEY_EPOCH_SECONDS, MessageKeyGenerator } from "../../lib/ids/index.js";
import { applyMigrations, type MigrationTarget, readMigrations } from "../../lib/migrate/runner.js";
import type { Database } from "../../lib/ports/db.js";
import { createTestDatabase } from "../../lib/testing/postgres.js";
import { WipeableKv } from "../../lib/testing/wipeable-kv.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import { SendDedupe } from "../../services/domain/messaging/send-dedupe.js";
import type { StoredMessage } from "../../services/store/consumer/jobs.js";
import { writeMessages } from "../../services/store/consumer/message-writer.js";
import {
  listPartitions,
  monthRange,
  PARTITION_MONTHS_AHEAD,
  PARTITIONED_TABLES,
  partitionName,
} from "../../services/store/partitions/message-partitions.js";

/**
 * Issue 20 item 3, "Done when": the partitioned message tables migrate forward from the schema
 * before them WITH DATA. On a fresh database, the migrations before
 * 20261206153338_partitioned_message_tables are applied, bodies, P2P and group history rows are
 * written into the unpartitioned tables (three months of them), then the partitioning migration
 * runs; every row must be there unchanged, in its month's partition, with its sender's id row, and
 * the store's writer, the send dedupe's database lookup and the foreign keys must work on the
 * result. On PostgreSQL (distributed) and PGlite (embedded), which run the same migrations.
 */

const MIGRATION = "20261206153338_partitioned_message_tables";
const APP = 10001;
const DAY = 86_400_000;

/** A migration target with the Prisma client that goes with it, on one database. */
interface Subject {
  target: MigrationTarget;
  client(): Promise<Database>;
  close(): Promise<void>;
}

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    "PostgreSQL",
    async () => {
      const testDb = await createTestDatabase();
      const target = await openPostgresMigrationTarget(testDb.url);
      let handle: { db: Database; close(): Promise<void> } | undefined;
      return {
        target,
        client: async () => {
          handle ??= await openPostgresDatabase({ url: testDb.url, poolSize: 2 });
          return handle.db;
        },
        close: async () => {
          await handle?.close();
          await target.close();
          await testDb.drop();
        },
      };
    },
  ],
  [
    "PGlite",
    async () => {
      const pglite = new PGlite();
      await pglite.waitReady;
      // as openPgliteDatabase builds it, without its migrations (this test applies them in steps)
      const db = new PrismaClient({ adapter: translatingDriverAdapter(new PrismaPGlite(pglite)) });
      return {
        target: pgliteMigrationTarget(pglite),
        client: async () => db,
        close: async () => {
          await db.$disconnect();
          await pglite.close();
        },
      };
    },
  ],
];

/** The month (`YYYYMM`) a messageKey's time falls in. */
const monthOfKey = (key: bigint) => monthRange((Number(key >> 21n) + MESSAGE_KEY_EPOCH_SECONDS) * 1000).month;

/**
 * Messages of three months (three months ago, last month, now), as the store wrote them before:
 * P2P between two users (two history rows), to oneself (one), group (one group row); one recalled.
 */
function oldMessages(): StoredMessage[] {
  const out: StoredMessage[] = [];
  const now = Date.now();
  const times = [monthRange(now, -3).from, monthRange(now, -1).from].map(
    (key) => (Number(key >> 21n) + MESSAGE_KEY_EPOCH_SECONDS) * 1000 + 3 * DAY,
  );
  for (const [m, at] of [...times, now - 60_000].entries()) {
    const keys = new MessageKeyGenerator(m, () => at);
    for (let i = 0; i < 12; i++) {
      const key = BigInt(keys.next());
      const kind = i % 3;
      const [type, from, to]: [typeof P2P | typeof GROUP, string, string] =
        kind === 0 ? [P2P, "ann", "ben"] : kind === 1 ? [P2P, "ann", "ann"] : [GROUP, "ben", "g1"];
      out.push({
        conversationType: type,
        appId: APP,
        messageKey: key,
        messageId: `old-${m}-${i}`,
        fromId: from,
        toId: to,
        sequence: BigInt(m * 100 + i + 1),
        body: `month ${m} #${i}`,
        messageTime: BigInt(at),
        extra: i === 4 ? '{"x":1}' : "",
        acceptedTime: BigInt(at),
      });
    }
  }
  return out;
}

/** Writes the messages into the tables as they were before the partitioning migration. */
async function writeOld(target: MigrationTarget, messages: StoredMessage[]): Promise<void> {
  for (const m of messages) {
    await target.query(
      `INSERT INTO im_message_body (message_key, app_id, conversation_type, from_id, to_id, message_id,
         message_sequence, message_body, message_time, create_time, extra)
       VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8, $9::bigint, $10::bigint, $11)`,
      [
        m.messageKey.toString(),
        m.appId,
        m.conversationType,
        m.fromId,
        m.toId,
        m.messageId,
        m.sequence.toString(),
        m.body,
        m.messageTime.toString(),
        m.acceptedTime.toString(),
        m.extra === "" ? null : m.extra,
      ],
    );
    if (m.conversationType === GROUP) {
      await target.query(
        `INSERT INTO im_group_message_history (app_id, group_id, message_key, from_id, sequence, message_time,
           create_time) VALUES ($1, $2, $3::bigint, $4, $5::bigint, $6::bigint, $7::bigint)`,
        [
          m.appId,
          m.toId,
          m.messageKey.toString(),
          m.fromId,
          m.sequence.toString(),
          m.messageTime.toString(),
          m.acceptedTime.toString(),
        ],
      );
      continue;
    }
    for (const [owner, peer] of m.fromId === m.toId
      ? [[m.fromId, m.toId]]
      : [
          [m.fromId, m.toId],
          [m.toId, m.fromId],
        ]) {
      await target.query(
        `INSERT INTO im_message_history (app_id, owner_id, peer_id, from_id, to_id, message_key, sequence,
           message_time, create_time) VALUES ($1, $2, $3, $4, $5, $6::bigint, $7::bigint, $8::bigint, $9::bigint)`,
        [
          m.appId,
          owner,
          peer,
          m.fromId,
          m.toId,
          m.messageKey.toString(),
          m.sequence.toString(),
          m.messageTime.toString(),
          m.acceptedTime.toString(),
        ],
      );
    }
  }
  // one of them recalled, as recall.ts leaves it
  await target.query(
    "UPDATE im_message_body SET recalled = true, recall_time = 5, message_body = '' WHERE message_id = 'old-0-3'",
  );
}

/** Every row of the three tables, as text, in key order (what must survive the migration). */
async function dumpRows(target: MigrationTarget): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of PARTITIONED_TABLES) {
    const rows = await target.query<{ r: string }>(
      `SELECT t::text AS r FROM ${table} t ORDER BY message_key, t::text`,
    );
    out[table] = rows.map((row) => row.r);
  }
  return out;
}

describe.each(subjects)("the partitioning migration, forward with data (%s)", (_name, open) => {
  let subject: Subject;
  let messages: StoredMessage[];
  let before: Record<string, string[]>;

  beforeAll(async () => {
    subject = await open();
    const all = await readMigrations();
    expect(all.map((m) => m.name)).toContain(MIGRATION);
    await applyMigrations(
      subject.target,
      all.filter((m) => m.name < MIGRATION),
    );
    messages = oldMessages();
    await writeOld(subject.target, messages);
    before = await dumpRows(subject.target);
    const result = await applyMigrations(subject.target, all);
    expect(result.applied).toContain(MIGRATION);
  }, 120_000);
  afterAll(async () => {
    await subject?.close();
  });

  it("keeps every row unchanged (bodies, P2P and group history)", async () => {
    expect(before.im_message_body).toHaveLength(36);
    expect(before.im_message_history).toHaveLength(12 * 2 + 12); // 12 P2P ann→ben (2 rows), 12 to self (1)
    expect(before.im_group_message_history).toHaveLength(12);
    expect(await dumpRows(subject.target)).toEqual(before);
  });

  it("puts each row in its month's partition", async () => {
    for (const table of PARTITIONED_TABLES) {
      const rows = await subject.target.query<{ key: string; p: string }>(
        `SELECT message_key::text AS key, tableoid::regclass::text AS p FROM ${table}`,
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.p, r.key).toBe(partitionName(table, monthOfKey(BigInt(r.key))));
    }
  });

  it("makes one partition per month from the oldest message's to three after this one, and DEFAULT", async () => {
    const db = await subject.client();
    const now = Date.now();
    const months = Array.from({ length: 3 + PARTITION_MONTHS_AHEAD + 1 }, (_, i) => monthRange(now, i - 3));
    const parts = await listPartitions(db);
    for (const table of PARTITIONED_TABLES) {
      expect(
        parts.filter((p) => p.table === table).map((p) => ({ name: p.name, from: p.from, to: p.to })),
      ).toEqual(
        [
          { name: `${table}_default`, from: null, to: null },
          ...months.map((m) => ({ name: partitionName(table, m.month), from: m.from, to: m.to })),
        ].sort((a, b) => a.name.localeCompare(b.name)),
      );
    }
  });

  it("fills im_message_id from the bodies, so the send dedupe's database lookup finds old sends", async () => {
    const db = await subject.client();
    const ids = await db.messageIdempotency.findMany({ orderBy: { messageKey: "asc" } });
    expect(ids.map((r) => [r.appId, r.fromId, r.messageId, r.messageKey])).toEqual(
      messages.map((m) => [m.appId, m.fromId, m.messageId, m.messageKey]),
    );
    const dedupe = new SendDedupe({ kv: new WipeableKv(), db: async () => db, ttlMs: 60_000 });
    const old = messages[5] as StoredMessage;
    expect(await dedupe.find(APP, old.fromId, old.messageId, 0)).toMatchObject({
      state: "accepted",
      message: {
        messageKey: Number(old.messageKey),
        messageSequence: Number(old.sequence),
        messageBody: old.body,
      },
    });
    expect(await dedupe.find(APP, "ann", "never-sent", 0)).toBeNull();
  });

  it("the store's writer keeps its guarantees: redeliveries and resends under a new key are not stored", async () => {
    const db = await subject.client();
    const old = messages[0] as StoredMessage;
    // keys of workers the old messages did not use (0–2), so no other message has them
    const keyNow = (worker: number) => BigInt(new MessageKeyGenerator(worker, Date.now).next());
    const resend = { ...old, messageKey: keyNow(30) };
    const fresh: StoredMessage = { ...old, messageKey: keyNow(31), messageId: "new-1", body: "new" };
    const outcome = await writeMessages(db, [old, resend, fresh]);
    expect(outcome).toMatchObject({ stored: 1, redelivered: 1, conflicts: [resend] });
    expect(await db.messageBody.count({ where: { messageKey: resend.messageKey } })).toBe(0);
    const rows = await subject.target.query<{ p: string }>(
      `SELECT tableoid::regclass::text AS p FROM im_message_history WHERE message_key = ${fresh.messageKey}`,
    );
    expect(rows.map((r) => r.p)).toEqual([
      partitionName("im_message_history", monthOfKey(fresh.messageKey)),
      partitionName("im_message_history", monthOfKey(fresh.messageKey)),
    ]);
  });

  it("keeps the history → body foreign key", async () => {
    const db = await subject.client();
    const orphan = db.groupMessageHistory.create({
      data: {
        appId: APP,
        groupId: "g1",
        messageKey: 42n,
        fromId: "ben",
        sequence: 1n,
        messageTime: 1n,
        createTime: 1n,
      },
    });
    await expect(orphan).rejects.toMatchObject({ name: "DbError", kind: "foreign-key-violation" });
  });
});
