import type { Logger } from "pino";
import { Prisma } from "../../../gen/prisma/client.js";
import { MESSAGE_KEY_EPOCH_SECONDS } from "../../../lib/ids/index.js";
import type { Database } from "../../../lib/ports/db.js";

/**
 * The message tables' monthly partitions (issue 20 item 3; docs/message-tables.md).
 *
 * Migration 20261206153338_partitioned_message_tables made im_message_body, im_message_history
 * and im_group_message_history `PARTITION BY RANGE (message_key)`: one partition per UTC month,
 * `<table>_pYYYYMM`, and `<table>_default` for any key no month covers. A messageKey starts with
 * the seconds since 2019-01-01 UTC (lib/ids/message-key.ts), so a month is the key range
 * [first key of its first second, first key of the next month). The three tables always get the
 * same months, together, so a month's bodies and history rows can be dropped together.
 *
 * The store keeps {@link PARTITION_MONTHS_AHEAD} months made ahead of the clock
 * ({@link ensureMessagePartitions}, at start and every hour): a month must exist before its first
 * row arrives, because a row that lands in DEFAULT for want of its month makes creating that
 * month fail later (PostgreSQL refuses a partition whose range DEFAULT already holds rows of).
 * Three months ahead means a store fleet that was down, or whose upkeep failed, for up to three
 * months still writes every row into its month; rows that do reach DEFAULT are not lost, they
 * stay there (retention deletes them row by row) and that month is reported as not created.
 * Retention drops the months that lie wholly before its cutoff ({@link dropExpiredPartitions}).
 *
 * Schema changes at run time are otherwise absent from this project (lib/ports/db.ts): this is
 * the one exception, and it only adds and removes partitions of these three tables. Every DDL
 * transaction takes the three tables' locks first, in the order the store's writer takes them
 * (body, history, group history), waits for them at most {@link LOCK_TIMEOUT_MS} (so a long read
 * delays it, not the writes queued behind it, for longer), and holds an advisory lock so that two
 * stores never run partition DDL at once.
 */

/** The partitioned tables, in the order the writer's statement locks them. */
export const PARTITIONED_TABLES = [
  "im_message_body",
  "im_message_history",
  "im_group_message_history",
] as const;

/** Months after the current one that always have their partitions (the migration makes as many). */
export const PARTITION_MONTHS_AHEAD = 3;

/** How long partition DDL waits for its table locks before giving up until its next run. */
export const LOCK_TIMEOUT_MS = 2_000;

/** pg_advisory_xact_lock key of partition DDL (any fixed number no other code uses). */
const PARTITION_DDL_LOCK = 20_261_206_153_338;

/** One month's key range. */
export interface MonthRange {
  /** `YYYYMM` (UTC), the partitions' name suffix. */
  month: string;
  /** First key of the month. */
  from: bigint;
  /** First key of the next month (exclusive). */
  to: bigint;
}

/** One partition of a message table. `from`/`to` are null for the DEFAULT partition. */
export interface Partition {
  table: string;
  name: string;
  from: bigint | null;
  to: bigint | null;
}

/** The first messageKey of the second holding `ms` (keys before 2019 do not exist: 0). */
export function firstKeyAt(ms: number): bigint {
  const seconds = Math.floor(ms / 1000) - MESSAGE_KEY_EPOCH_SECONDS;
  return seconds <= 0 ? 0n : BigInt(seconds) << 21n;
}

/** The month `offset` months after the UTC month of `ms`. */
export function monthRange(ms: number, offset = 0): MonthRange {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset + 1, 1);
  const s = new Date(start);
  const month = `${s.getUTCFullYear()}${String(s.getUTCMonth() + 1).padStart(2, "0")}`;
  return { month, from: firstKeyAt(start), to: firstKeyAt(next) };
}

/** A partition's name: `<table>_pYYYYMM`. */
export function partitionName(table: string, month: string): string {
  return `${table}_p${month}`;
}

/** Every partition of the three tables, with its bounds (from the catalog, not from its name). */
export async function listPartitions(db: Database): Promise<Partition[]> {
  const rows = await db.$queryRaw<{ parent: string; name: string; bound: string }[]>`
    SELECT p.relname AS parent, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE i.inhparent IN (SELECT to_regclass(t) FROM unnest(${[...PARTITIONED_TABLES]}::text[]) AS t)
    ORDER BY 1, 2`;
  return rows.map((r) => {
    // "FOR VALUES FROM ('523831659724800') TO ('529448671641600')" or "DEFAULT"
    const range = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(r.bound);
    return {
      table: r.parent,
      name: r.name,
      from: range ? BigInt(range[1] as string) : null,
      to: range ? BigInt(range[2] as string) : null,
    };
  });
}

/** What {@link createMonthPartitions} did. */
export interface CreateOutcome {
  /** Partitions that were missing when the call began and exist now, by name. */
  created: string[];
  /** Months not created, with PostgreSQL's reason (e.g. DEFAULT already holds rows of the month). */
  failed: { month: string; error: string }[];
}

/**
 * Creates the given months' partitions of all three tables where missing (idempotent). Each
 * month is one transaction: all three tables get it, or none does. A month that fails (its rows
 * already in DEFAULT, a lock not granted in time) is reported and the others are still made.
 */
export async function createMonthPartitions(db: Database, months: MonthRange[]): Promise<CreateOutcome> {
  const existing = new Set((await listPartitions(db)).map((p) => p.name));
  const outcome: CreateOutcome = { created: [], failed: [] };
  for (const m of months) {
    const names = PARTITIONED_TABLES.map((t) => partitionName(t, m.month));
    if (names.every((n) => existing.has(n))) continue;
    try {
      await db.$transaction([
        ...lockForDdl(db),
        ...PARTITIONED_TABLES.map((t) =>
          ddl(
            db,
            `CREATE TABLE IF NOT EXISTS ${quote(partitionName(t, m.month))} PARTITION OF ${quote(t)} FOR VALUES FROM (${m.from}) TO (${m.to})`,
          ),
        ),
      ]);
      outcome.created.push(...names.filter((n) => !existing.has(n)));
    } catch (err) {
      outcome.failed.push({ month: m.month, error: (err as Error).message });
    }
  }
  return outcome;
}

/** Makes sure the month of `nowMs` and the {@link PARTITION_MONTHS_AHEAD} after it have their partitions. */
export function ensureMessagePartitions(
  db: Database,
  nowMs: number,
  monthsAhead = PARTITION_MONTHS_AHEAD,
): Promise<CreateOutcome> {
  const months = Array.from({ length: monthsAhead + 1 }, (_, i) => monthRange(nowMs, i));
  return createMonthPartitions(db, months);
}

/**
 * Drops every month partition whose whole range lies below `cutoffKey` (all its messages are
 * older than the retention window), oldest first, one month per transaction: the history
 * partitions first, then the body partition, which is detached before it is dropped (the history
 * tables' foreign key; PostgreSQL checks on detach that no history row still points into it, which
 * reads the history tables' remaining partitions for that range by index: none once theirs are
 * gone). Returns the partitions dropped. The DEFAULT partitions are never dropped; the rows of a
 * month that the cutoff cuts through, and expired rows in DEFAULT, are retention's row deletes.
 * im_message_id keeps its rows of these messages: retention deletes them after (by its
 * message_key index).
 */
export async function dropExpiredPartitions(db: Database, cutoffKey: bigint): Promise<string[]> {
  const expired = (await listPartitions(db)).filter((p) => p.to !== null && p.to <= cutoffKey);
  const months = new Map<string, Partition[]>();
  for (const p of expired) {
    const bound = `${p.from}-${p.to}`;
    months.set(bound, [...(months.get(bound) ?? []), p]);
  }
  const dropped: string[] = [];
  const oldestFirst = [...months.values()].sort((a, b) => Number((a[0]?.to ?? 0n) - (b[0]?.to ?? 0n)));
  for (const parts of oldestFirst) {
    const histories = parts.filter((p) => p.table !== "im_message_body");
    const bodies = parts.filter((p) => p.table === "im_message_body");
    await db.$transaction([
      ...lockForDdl(db),
      ...histories.map((p) => ddl(db, `DROP TABLE ${quote(p.name)}`)),
      ...bodies.flatMap((p) => [
        ddl(db, `ALTER TABLE ${quote(p.table)} DETACH PARTITION ${quote(p.name)}`),
        ddl(db, `DROP TABLE ${quote(p.name)}`),
      ]),
    ]);
    dropped.push(...histories.map((p) => p.name), ...bodies.map((p) => p.name));
  }
  return dropped;
}

/** The first statements of every partition DDL transaction (see the top of this file). */
function lockForDdl(db: Database) {
  return [
    ddl(db, `SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`),
    ddl(db, `SELECT pg_advisory_xact_lock(${PARTITION_DDL_LOCK})`),
    ddl(db, `LOCK TABLE ${PARTITIONED_TABLES.map(quote).join(", ")} IN ACCESS EXCLUSIVE MODE`),
  ];
}

/**
 * One statement of partition DDL, as text: DDL takes no bind parameters, so names and bounds are
 * written into it. Every piece is one of {@link PARTITIONED_TABLES}, a partition name made from
 * them (a `YYYYMM` month, or read back from the catalog) and quoted, a bigint bound, or a constant
 * of this file: never input from outside. The db port withholds `$executeRawUnsafe`
 * (lib/ports/db.ts); this is its one stand-in, kept here beside the one run-time schema change
 * it serves rather than in the port, so no other code reaches SQL built from strings by accident.
 */
function ddl(db: Database, statement: string) {
  return db.$executeRaw(Prisma.raw(statement));
}

/** A quoted SQL identifier. */
function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Options of {@link startPartitionUpkeep}. */
export interface PartitionUpkeepOptions {
  db: Database;
  logger: Logger;
  /** Time between runs, in ms (default one hour). */
  intervalMs?: number;
  /** Milliseconds since the Unix epoch (tests move it). */
  clock?: () => number;
}

/** A running partition upkeep. */
export interface PartitionUpkeepHandle {
  stop(): Promise<void>;
}

/**
 * Runs {@link ensureMessagePartitions} once before it returns (so a store that starts in a month
 * nobody made yet makes it before it writes) and then every `intervalMs`. Failures are logged and
 * tried again at the next run: partitions are housekeeping, and DEFAULT takes every row meanwhile.
 */
export async function startPartitionUpkeep(opts: PartitionUpkeepOptions): Promise<PartitionUpkeepHandle> {
  const clock = opts.clock ?? Date.now;
  const log = opts.logger.child({ component: "partitions" });
  const run = async () => {
    try {
      const { created, failed } = await ensureMessagePartitions(opts.db, clock());
      if (created.length > 0) log.info({ created }, "message table partitions created");
      for (const f of failed) {
        log.error(
          { month: f.month, err: f.error },
          "message table partitions not created; if DEFAULT holds rows of that month, they stay there (docs/message-tables.md)",
        );
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, "partition upkeep failed; retried at the next run");
    }
  };
  await run();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= run().finally(() => {
      running = undefined;
    });
  }, opts.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
