import type { Logger } from "pino";
import { MESSAGE_KEY_EPOCH_SECONDS } from "../../../lib/ids/index.js";
import type { Database } from "../../../lib/ports/db.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { dropExpiredPartitions } from "../partitions/message-partitions.js";

/**
 * `store.retentionDays` (issue 20 item 3): messages older than the window are deleted by the
 * store in small batches, so the message tables stop growing without bound and no statement holds
 * locks or writes WAL for long. 0 keeps everything (the default).
 *
 * Age is read from the messageKey: the original's snowflake, `(seconds since 2019 − …) << 21 | …`
 * (lib/ids/message-key.ts), stamped by the domain when it accepted the message. So "older than
 * the cutoff" is `message_key < cutoffKey`, the partition key of the message tables (one
 * partition per month, services/store/partitions). A sweep works in three steps:
 * 1. every month wholly below the cutoff is dropped, partition by partition (no row is deleted
 *    one by one, no WAL per row);
 * 2. the rest below the cutoff (the month the cutoff cuts through, and rows in the DEFAULT
 *    partitions) is deleted in batches: the oldest bodies by their primary key, each history row
 *    by its own primary key ((app, owner, key) for the sender's and the receiver's P2P rows,
 *    (app, group, key) for a group message), the senders' id rows (im_message_id) by theirs;
 * 3. the id rows of the messages step 1 dropped are deleted in batches, by im_message_id's
 *    message_key index (the one table that cannot be partitioned by key: its primary key is the
 *    sender's idempotency id).
 * No sequential scan (test/store/message-indexes.test.ts EXPLAINs these statements too).
 *
 * What stays: conversations, read marks, sequence counters and high-water marks (a deleted
 * message never gives its sequence to another one); sync simply starts at the oldest message
 * kept.
 */

/** Milliseconds in a day. */
const DAY_MS = 86_400_000;

/** The first messageKey of the second `nowMs − days` falls in: every key below it is older. */
export function retentionCutoffKey(nowMs: number, days: number): bigint {
  const seconds = Math.floor((nowMs - days * DAY_MS) / 1000) - MESSAGE_KEY_EPOCH_SECONDS;
  return seconds <= 0 ? 0n : BigInt(seconds) << 21n;
}

/** What one {@link deleteExpiredBatch} removed, row by row. */
export interface RetentionOutcome {
  bodies: number;
  histories: number;
  /** Sender id rows (im_message_id). */
  ids: number;
}

/**
 * Deletes at most `limit` of the oldest messages below `cutoffKey`, with their history rows and
 * their senders' id rows, in one transaction (history first: its foreign key to the body is ON
 * DELETE RESTRICT).
 */
export async function deleteExpiredBatch(
  db: Database,
  cutoffKey: bigint,
  limit: number,
): Promise<RetentionOutcome> {
  const doomed = await db.$queryRaw<
    {
      message_key: bigint;
      app_id: number;
      conversation_type: number;
      from_id: string;
      to_id: string;
      message_id: string;
    }[]
  >`
    SELECT message_key, app_id, conversation_type, from_id, to_id, message_id FROM im_message_body
    WHERE message_key < ${cutoffKey}
    ORDER BY message_key
    LIMIT ${limit}`;
  if (doomed.length === 0) return { bodies: 0, histories: 0, ids: 0 };
  const p2p = { apps: [] as number[], owners: [] as string[], keys: [] as bigint[] };
  const group = { apps: [] as number[], groups: [] as string[], keys: [] as bigint[] };
  for (const m of doomed) {
    const key = BigInt(m.message_key);
    if (m.conversation_type === P2P) {
      // the sender's row and the receiver's (one row when they are the same user), as written
      for (const owner of new Set([m.from_id, m.to_id])) {
        p2p.apps.push(m.app_id);
        p2p.owners.push(owner);
        p2p.keys.push(key);
      }
    } else if (m.conversation_type === GROUP) {
      group.apps.push(m.app_id);
      group.groups.push(m.to_id);
      group.keys.push(key);
    }
  }
  const keys = doomed.map((m) => BigInt(m.message_key));
  const [histories, groupHistories, bodies, ids] = await db.$transaction([
    db.$executeRaw`
      DELETE FROM im_message_history h
      USING unnest(${p2p.apps}::int[], ${p2p.owners}::text[], ${p2p.keys}::bigint[]) AS d(app_id, owner_id, message_key)
      WHERE h.app_id = d.app_id AND h.owner_id = d.owner_id AND h.message_key = d.message_key`,
    db.$executeRaw`
      DELETE FROM im_group_message_history g
      USING unnest(${group.apps}::int[], ${group.groups}::text[], ${group.keys}::bigint[]) AS d(app_id, group_id, message_key)
      WHERE g.app_id = d.app_id AND g.group_id = d.group_id AND g.message_key = d.message_key`,
    db.$executeRaw`
      DELETE FROM im_message_body WHERE message_key = ANY(${keys}::bigint[]) AND message_key < ${cutoffKey}`,
    db.$executeRaw`
      DELETE FROM im_message_id i
      USING unnest(${doomed.map((m) => m.app_id)}::int[], ${doomed.map((m) => m.from_id)}::text[],
        ${doomed.map((m) => m.message_id)}::text[], ${keys}::bigint[]) AS d(app_id, from_id, message_id, message_key)
      WHERE i.app_id = d.app_id AND i.from_id = d.from_id AND i.message_id = d.message_id
        AND i.message_key = d.message_key`,
  ]);
  return { bodies, histories: histories + groupHistories, ids };
}

/**
 * Deletes at most `limit` sender id rows (im_message_id) below `cutoffKey` whose bodies are gone
 * already (their partitions were dropped), by the table's message_key index; returns how many.
 */
export async function deleteExpiredIds(db: Database, cutoffKey: bigint, limit: number): Promise<number> {
  return db.$executeRaw`
    DELETE FROM im_message_id i
    USING (
      SELECT app_id, from_id, message_id FROM im_message_id
      WHERE message_key < ${cutoffKey}
      ORDER BY message_key
      LIMIT ${limit}
    ) d
    WHERE i.app_id = d.app_id AND i.from_id = d.from_id AND i.message_id = d.message_id`;
}

/** Limits of one sweep. */
export interface SweepOptions {
  /** Messages per batch (one transaction). */
  batchSize: number;
  /** Batches per sweep at most; the rest waits for the next sweep. */
  maxBatches: number;
  /** Pause between batches, in ms, so the store's own writes keep their share of the database. */
  pauseMs: number;
  /** Ends the sweep after the batch in hand (the store is stopping). */
  signal?: AbortSignal;
}

/** What one {@link sweepExpired} removed. */
export interface SweepOutcome extends RetentionOutcome {
  /** Partitions dropped whole (three per month: body, history, group history). */
  partitions: string[];
  /** Row-deleting transactions run. */
  batches: number;
  /** False when the sweep stopped at its bound (or was stopped) with expired rows left. */
  done: boolean;
}

/**
 * Drops the expired months, then deletes the remaining expired messages and the dropped months'
 * id rows batch by batch until none is left or the sweep's bound is reached (see the top of this
 * file).
 */
export async function sweepExpired(
  db: Database,
  cutoffKey: bigint,
  opts: SweepOptions,
): Promise<SweepOutcome> {
  const total: SweepOutcome = { bodies: 0, histories: 0, ids: 0, partitions: [], batches: 0, done: false };
  if (opts.signal?.aborted === true) return total;
  // A month that cannot be dropped now (its locks not granted in time) fails the sweep, which is
  // tried again at the next interval, rather than being deleted row by row below.
  total.partitions = await dropExpiredPartitions(db, cutoffKey);
  const more = () => total.batches < opts.maxBatches && opts.signal?.aborted !== true;
  const pause = async () => {
    if (opts.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.pauseMs));
  };
  let messagesLeft = true;
  while (messagesLeft && more()) {
    const batch = await deleteExpiredBatch(db, cutoffKey, opts.batchSize);
    total.batches++;
    total.bodies += batch.bodies;
    total.histories += batch.histories;
    total.ids += batch.ids;
    messagesLeft = batch.bodies === opts.batchSize;
    if (messagesLeft) await pause();
  }
  // the id rows of dropped months, once the messages are done (else at the next sweep)
  let idsLeft = true;
  while (!messagesLeft && idsLeft && more()) {
    const deleted = await deleteExpiredIds(db, cutoffKey, opts.batchSize);
    total.batches++;
    total.ids += deleted;
    idsLeft = deleted === opts.batchSize;
    if (idsLeft) await pause();
  }
  total.done = !messagesLeft && !idsLeft;
  return total;
}

/** Options of {@link startRetention}. */
export interface RetentionOptions extends SweepOptions {
  db: Database;
  logger: Logger;
  /** Days a message is kept; 0 keeps everything (then nothing is started). */
  retentionDays: number;
  /** Time between sweeps, in ms. */
  intervalMs: number;
  /** Delay of the first sweep, in ms (default: the interval, at most 5 s). */
  startAfterMs?: number;
  /** Delay of the next sweep when the last one stopped at its bound with messages left (1 s). */
  continueAfterMs?: number;
  /** Milliseconds since the Unix epoch (tests move it). */
  clock?: () => number;
}

/** A running retention loop. */
export interface RetentionHandle {
  /** Stops the timer and waits for a sweep in progress to finish its current batch. */
  stop(): Promise<void>;
}

/**
 * Sweeps once shortly after start and then every `intervalMs`; a sweep that stopped at its bound
 * with expired messages left is followed by the next one a second later. A failed sweep is logged
 * and tried again at the next interval (retention is housekeeping: it never stops the store).
 */
export function startRetention(opts: RetentionOptions): RetentionHandle {
  if (opts.retentionDays <= 0) return { stop: async () => undefined };
  const clock = opts.clock ?? Date.now;
  const log = opts.logger.child({ component: "retention" });
  let running: Promise<void> | undefined;
  let stopped = false;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  /** Sweeps once; true when it stopped at its bound with expired messages left. */
  const sweep = async (): Promise<boolean> => {
    const cutoff = retentionCutoffKey(clock(), opts.retentionDays);
    try {
      const result = await sweepExpired(opts.db, cutoff, { ...opts, signal: abort.signal });
      if (result.bodies > 0 || result.ids > 0 || result.partitions.length > 0)
        log.info({ ...result, retentionDays: opts.retentionDays }, "expired messages deleted");
      return !result.done;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "retention sweep failed; retried at the next interval");
      return false;
    }
  };
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep().then((more) => {
        running = undefined;
        // a backlog (the first sweep of a long-running deployment, a burst) is worked off at once,
        // sweep after sweep, instead of one bounded sweep per interval
        schedule(more ? (opts.continueAfterMs ?? 1_000) : opts.intervalMs);
      });
    }, delayMs);
    timer.unref();
  };
  schedule(opts.startAfterMs ?? Math.min(opts.intervalMs, 5_000));
  return {
    stop: async () => {
      stopped = true;
      abort.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
