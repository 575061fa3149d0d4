import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageKeyGenerator } from "../../../lib/ids/index.js";
import type { Database } from "../../../lib/ports/db.js";
import { bothDatabases, withTestDatabase } from "../../../lib/testing/both-databases.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import type { StoredMessage } from "../consumer/jobs.js";
import { writeMessages } from "../consumer/message-writer.js";
import {
  createMonthPartitions,
  dropExpiredPartitions,
  ensureMessagePartitions,
  firstKeyAt,
  listPartitions,
  monthRange,
  PARTITION_MONTHS_AHEAD,
  PARTITIONED_TABLES,
  partitionName,
  startPartitionUpkeep,
} from "./message-partitions.js";

const logger = pino({ level: "silent" });

describe("month ranges of messageKeys", () => {
  it("are [first key of the month's first second, first key of the next month's)", () => {
    const dec = monthRange(Date.UTC(2026, 11, 6, 12));
    expect(dec.month).toBe("202612");
    const keyAt = (ms: number, worker = 0) => BigInt(new MessageKeyGenerator(worker, () => ms).next());
    expect(dec.from).toBe(keyAt(Date.UTC(2026, 11, 1)));
    expect(dec.to).toBe(keyAt(Date.UTC(2027, 0, 1)));
    // the last key of November's last second is below December, December's first is in it
    expect(keyAt(Date.UTC(2026, 11, 1) - 1, 31) + 65_535n).toBeLessThan(dec.from);
    expect(monthRange(Date.UTC(2026, 11, 6), 1)).toEqual({
      month: "202701",
      from: dec.to,
      to: firstKeyAt(Date.UTC(2027, 1, 1)),
    });
    expect(monthRange(Date.UTC(2026, 11, 31, 23, 59, 59), 2).month).toBe("202702");
  });
});

/** The upkeep's SQL runs on both adapters of the db port (distributed and embedded). */
const databases = bothDatabases(3);

describe.each(databases)("message table partitions (%s)", (_name, openDb) => {
  let db!: Database;
  let nextId = 0;

  withTestDatabase(openDb, (opened) => {
    db = opened;
  });

  /** A P2P message accepted at `ms`. */
  const messageAt = (ms: number): StoredMessage => {
    const key = BigInt(new MessageKeyGenerator(nextId % 32, () => ms).next()) + BigInt(nextId);
    nextId++;
    return {
      conversationType: P2P,
      appId: 1,
      messageKey: key,
      messageId: `p-${nextId}`,
      fromId: "a",
      toId: "b",
      sequence: BigInt(nextId),
      body: "x",
      messageTime: key,
      extra: "",
      acceptedTime: key,
    };
  };
  const partitionOf = async (key: bigint) =>
    (
      await db.$queryRaw<{ p: string }[]>`
        SELECT tableoid::regclass::text AS p FROM im_message_body WHERE message_key = ${key}`
    )[0]?.p;

  it("the migration made this month and the next three, with the bounds the store computes, and DEFAULT", async () => {
    const parts = await listPartitions(db);
    for (const table of PARTITIONED_TABLES) {
      const mine = parts.filter((p) => p.table === table);
      const expected = Array.from({ length: PARTITION_MONTHS_AHEAD + 1 }, (_, i) =>
        monthRange(Date.now(), i),
      );
      expect(mine.filter((p) => p.from !== null)).toEqual(
        expected.map((m) => ({ table, name: partitionName(table, m.month), from: m.from, to: m.to })),
      );
      expect(mine.filter((p) => p.from === null)).toEqual([
        { table, name: `${table}_default`, from: null, to: null },
      ]);
    }
    // so the upkeep finds nothing to do today
    expect(await ensureMessagePartitions(db, Date.now())).toEqual({ created: [], failed: [] });
  });

  it("creates the coming months once, and rows of those months land in them", async () => {
    const later = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 5, 10);
    const first = await ensureMessagePartitions(db, later);
    expect(first.failed).toEqual([]);
    // months +5 … +8 from today; the migration made up to +3
    const months = Array.from({ length: PARTITION_MONTHS_AHEAD + 1 }, (_, i) => monthRange(later, i).month);
    expect(first.created.sort()).toEqual(
      PARTITIONED_TABLES.flatMap((t) => months.map((m) => partitionName(t, m))).sort(),
    );
    expect(await ensureMessagePartitions(db, later)).toEqual({ created: [], failed: [] });
    const m = messageAt(later);
    expect((await writeMessages(db, [m])).stored).toBe(1);
    expect(await partitionOf(m.messageKey)).toBe(partitionName("im_message_body", monthRange(later).month));
    const history = await db.$queryRaw<{ p: string }[]>`
      SELECT tableoid::regclass::text AS p FROM im_message_history WHERE message_key = ${m.messageKey}`;
    expect(history.map((h) => h.p)).toEqual([
      partitionName("im_message_history", monthRange(later).month),
      partitionName("im_message_history", monthRange(later).month),
    ]);
  });

  it("a month whose rows already sit in DEFAULT is reported, not made, and the other months still are", async () => {
    const stray = Date.UTC(2024, 4, 20); // May 2024: no partition, so DEFAULT takes it
    const m = messageAt(stray);
    await writeMessages(db, [m]);
    expect(await partitionOf(m.messageKey)).toBe("im_message_body_default");
    const outcome = await createMonthPartitions(db, [monthRange(stray), monthRange(stray, 1)]);
    expect(outcome.failed.map((f) => f.month)).toEqual(["202405"]);
    expect(outcome.failed[0]?.error).toMatch(/default partition/i);
    expect(outcome.created.sort()).toEqual(PARTITIONED_TABLES.map((t) => partitionName(t, "202406")).sort());
    // all or nothing per month: none of the three tables got May
    expect((await listPartitions(db)).filter((p) => p.name.endsWith("_p202405"))).toEqual([]);
    // the row stays readable where it is
    expect(await db.messageBody.count({ where: { messageKey: m.messageKey } })).toBe(1);
  });

  it("drops only months wholly below the cutoff, never DEFAULT", async () => {
    await createMonthPartitions(db, [monthRange(Date.UTC(2025, 0, 10)), monthRange(Date.UTC(2025, 1, 10))]);
    const feb = monthRange(Date.UTC(2025, 1, 10));
    // a cutoff inside February: January goes, February (cut through) stays
    const dropped = await dropExpiredPartitions(db, feb.from + 1_000n);
    expect(dropped.filter((n) => n.endsWith("_p202501")).sort()).toEqual(
      PARTITIONED_TABLES.map((t) => partitionName(t, "202501")).sort(),
    );
    const names = (await listPartitions(db)).map((p) => p.name);
    expect(names).toContain(partitionName("im_message_body", "202502"));
    expect(names).toContain("im_message_body_default");
    expect(names.filter((n) => n.endsWith("_p202501"))).toEqual([]);
  });

  it("startPartitionUpkeep makes the months before it returns, and stops", async () => {
    const far = Date.UTC(new Date().getUTCFullYear() + 3, 6, 1);
    const upkeep = await startPartitionUpkeep({ db, logger, intervalMs: 60_000, clock: () => far });
    await upkeep.stop();
    const names = (await listPartitions(db)).map((p) => p.name);
    for (let i = 0; i <= PARTITION_MONTHS_AHEAD; i++) {
      for (const t of PARTITIONED_TABLES) expect(names).toContain(partitionName(t, monthRange(far, i).month));
    }
  });
});

/** What needs a second session: PGlite has one connection, so these cases cannot happen there. */
describe("message table partitions: concurrent sessions (PostgreSQL)", () => {
  let pgDb: MigratedTestDatabase;
  beforeAll(async () => {
    pgDb = await migratedTestDatabase(3);
  }, 60_000);
  afterAll(async () => {
    await pgDb?.close();
  });

  it("gives up while a long read holds a table (lock_timeout), and makes the month at the next run", async () => {
    const reader = new pg.Client({ connectionString: pgDb.url });
    await reader.connect();
    const month = monthRange(Date.UTC(2031, 2, 1));
    try {
      await reader.query("BEGIN");
      await reader.query("SELECT count(*) FROM im_message_history");
      const blocked = await createMonthPartitions(pgDb.db, [month]);
      expect(blocked.failed.map((f) => f.month)).toEqual([month.month]);
      expect(blocked.failed[0]?.error).toMatch(/lock timeout/i);
      await reader.query("COMMIT");
      const next = await createMonthPartitions(pgDb.db, [month]);
      expect(next).toEqual({
        created: PARTITIONED_TABLES.map((t) => partitionName(t, month.month)),
        failed: [],
      });
    } finally {
      await reader.end();
    }
  });

  it("two stores making the same months at once both succeed", async () => {
    const months = [monthRange(Date.UTC(2032, 0, 1)), monthRange(Date.UTC(2032, 1, 1))];
    const [a, b] = await Promise.all([
      createMonthPartitions(pgDb.db, months),
      createMonthPartitions(pgDb.db, months),
    ]);
    expect([...a.failed, ...b.failed]).toEqual([]);
    const names = (await listPartitions(pgDb.db)).map((p) => p.name);
    for (const m of months)
      for (const t of PARTITIONED_TABLES) expect(names).toContain(partitionName(t, m.month));
  });
});
