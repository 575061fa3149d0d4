import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { lockHighWater, raiseHighWater } from "./high-water.js";
import type { SequenceKey } from "./sequence-keys.js";

/**
 * Offset of every valid kv counter value. A counter is served from kv as
 * `KV_BASE + sequence`; a counter kv lost (Redis restarted empty, a key
 * evicted) or never had counts up from 0 instead, so EVERY caller that
 * increments it before it is repaired sees a value below the base and knows
 * not to use it. Without the offset only the first incrementer of a lost key
 * (the one that got 1) could tell, and the others would hand out 2, 3, ...
 * again. 2^40 leaves 2^53 − 2^40 sequences per counter.
 */
export const KV_BASE = 2 ** 40;

/** What a {@link SequenceAllocator} needs. */
export interface SequenceAllocatorOptions {
  kv: KvStore;
  db(): Promise<Database>;
  /** Sequences reserved per high-water write (config `messaging.sequenceStep`). */
  step: number;
  /** Counters whose durable mark this process remembers (LRU); default 100 000. */
  cacheSize?: number;
}

/**
 * Allocates messageSequence values (docs/architecture.md §4 "Order", WeChat seqsvr's
 * idea): strictly increasing per counter and never reused, across any number
 * of domain processes, also after kv lost all its data.
 *
 * - Normal path: ONE kv increment. Before a value is handed out, the durable
 *   mark in the database must be at least that value; each process remembers
 *   the mark it last saw per counter and raises it (`GREATEST`, by `step`)
 *   only when a value passes it: one database write per `step` sequences.
 * - Repair (kv value below {@link KV_BASE}): holding the counter's row lock,
 *   the process reads the mark M, raises it to `M + 2·step` and moves the
 *   counter above `M + step` with `incrAbove`, so it resumes above
 *   everything handed out.
 *   The extra `step` covers values other processes took from the old counter
 *   but had not yet covered in the database when kv was lost (they raise the
 *   mark before handing them out, and every counter generation starts at or
 *   below the mark, so such values are ≤ M + the allocations in flight at
 *   that moment). The bound assumed: fewer than `step` allocations of ONE
 *   counter in flight at once.
 * - A counter used for the very first time creates its row and starts at 1;
 *   two processes racing on that first use make a gap, never a duplicate.
 *   Within one process, concurrent callers that find a counter missing share
 *   one repair and then count on from it (no gap).
 * Gaps are allowed (clients sync by cursor); duplicates and decreases are not.
 */
export class SequenceAllocator {
  readonly #opts: SequenceAllocatorOptions;
  readonly #cacheSize: number;
  /** Counter id → a value the durable mark is known to be at or above (LRU by Map order). */
  readonly #marks = new Map<string, number>();
  /** Counter id → the raise in flight, so concurrent callers share one write. */
  readonly #raising = new Map<string, Promise<void>>();
  /** Counter id → the repair in flight, so concurrent callers of this process share one. */
  readonly #repairing = new Map<string, Promise<unknown>>();
  /** Counter id → the last re-count in line (see {@link counted}): resolves once it is issued. */
  readonly #recounting = new Map<string, Promise<void>>();

  constructor(opts: SequenceAllocatorOptions) {
    if (!Number.isInteger(opts.step) || opts.step < 1) throw new RangeError("sequence step must be >= 1");
    this.#opts = opts;
    this.#cacheSize = opts.cacheSize ?? 100_000;
  }

  /** The next sequence of `key`: greater than every value handed out for it before. */
  async next(key: SequenceKey): Promise<number> {
    return this.counted(key, await this.#opts.kv.incrBy(key.kvKey));
  }

  /**
   * The sequence of a kv count the caller already took from `key.kvKey` (one increment, as
   * {@link next} makes; the send path takes it together with its claim: kv.claimAndCount), for
   * counts taken in arrival order (the send path's turn): the count minus {@link KV_BASE},
   * covered by the durable mark.
   *
   * A count at or below the base (kv lost the counter, or never had it) cannot be used: the
   * counter is repaired and the caller counts again. So must every later count of the same
   * counter in this process until those re-counts are issued, even one above the base: a send
   * that arrived later but counted after the repair would otherwise get a lower sequence than an
   * earlier send still waiting to count again (seen under load on a conversation's first
   * messages). The re-counts are issued one after another in the order the counts were taken,
   * so they keep the arrival order; the numbers given up are gaps.
   */
  async counted(key: SequenceKey, count: number): Promise<number> {
    const counter = id(key);
    const before = this.#recounting.get(counter);
    let value = count;
    if (before !== undefined || count <= KV_BASE) {
      let issued!: () => void;
      const link = new Promise<void>((resolve) => {
        issued = resolve;
      });
      this.#recounting.set(counter, link);
      try {
        if (before === undefined) {
          value = await this.#reopen(key); // the first count below the base seen here: repair
        } else {
          await before; // the earlier re-counts (or the repair) have been issued
          const next = this.#opts.kv.incrBy(key.kvKey);
          issued();
          value = await next;
        }
      } finally {
        issued();
        if (this.#recounting.get(counter) === link) this.#recounting.delete(counter);
      }
      if (value <= KV_BASE) value = await this.#reopen(key); // kv lost the counter again meanwhile
    }
    const sequence = value - KV_BASE;
    await this.#cover(key, sequence);
    return sequence;
  }

  /**
   * A count above the base after kv lost `key`'s counter: one repair per process at a time
   * (callers that find one in flight wait for it and count again), instead of each reopening it
   * `step` higher (gaps of 2·step per caller) one after another on the row lock.
   */
  async #reopen(key: SequenceKey, count = 0): Promise<number> {
    let value = count;
    while (value <= KV_BASE) {
      const counter = id(key);
      const inFlight = this.#repairing.get(counter);
      if (inFlight === undefined) {
        const repair = this.#repair(key);
        this.#repairing.set(counter, repair);
        try {
          return await repair;
        } finally {
          this.#repairing.delete(counter);
        }
      }
      await inFlight.catch(() => undefined); // its caller reports a failure; here we just retry
      value = await this.#opts.kv.incrBy(key.kvKey);
    }
    return value;
  }

  /**
   * Reopens a counter kv does not hold (lost, or new). Runs in a database
   * transaction holding the counter's row lock from reading the mark until
   * the kv counter is set: no other process can raise the mark or reopen the
   * counter in between, so the floor is never stale (without the lock, a
   * repair delayed across a second loss would restart the next generation
   * below what the one in between handed out).
   */
  async #repair(key: SequenceKey): Promise<number> {
    const db = await this.#opts.db();
    const { step, kv } = this.#opts;
    let mark = 0;
    let cover: number | undefined;
    try {
      const value = await db.$transaction(
        async (tx) => {
          const row = await lockHighWater(tx, key.appId, key.dbKey, step);
          mark = row.maxValue;
          if (row.created) return kv.incrAbove(key.kvKey, KV_BASE);
          // The new generation starts `step` above the mark (see the class comment), and the mark
          // moves over that start before the counter does: every generation starts covered.
          const floor = row.maxValue + step;
          cover = floor + step;
          mark = await raiseHighWater(tx, key.appId, key.dbKey, cover);
          return kv.incrAbove(key.kvKey, KV_BASE + floor);
        },
        { maxWait: 5_000, timeout: 10_000 },
      );
      this.#remember(id(key), mark); // only once committed: a remembered mark must be durable
      return value;
    } catch (error) {
      // The commit may have failed after kv moved: cover the generation's start anyway.
      if (cover !== undefined) await raiseHighWater(db, key.appId, key.dbKey, cover).catch(() => undefined);
      throw error;
    }
  }

  /** Makes sure the durable mark is at least `sequence` before it is handed out. */
  async #cover(key: SequenceKey, sequence: number): Promise<void> {
    const counter = id(key);
    for (;;) {
      const mark = this.#marks.get(counter);
      if (mark !== undefined && sequence <= mark) {
        this.#remember(counter, mark); // refresh its LRU position
        return;
      }
      const inFlight = this.#raising.get(counter);
      if (inFlight !== undefined) {
        await inFlight; // then look again: that raise may not reach `sequence`
        continue;
      }
      const raise = this.#raise(key, counter, sequence + this.#opts.step);
      this.#raising.set(counter, raise);
      try {
        await raise;
      } finally {
        this.#raising.delete(counter);
      }
    }
  }

  async #raise(key: SequenceKey, counter: string, target: number): Promise<void> {
    const db = await this.#opts.db();
    this.#remember(counter, await raiseHighWater(db, key.appId, key.dbKey, target));
  }

  #remember(counter: string, mark: number): void {
    const known = this.#marks.get(counter);
    this.#marks.delete(counter);
    this.#marks.set(counter, known === undefined ? mark : Math.max(known, mark));
    if (this.#marks.size > this.#cacheSize) {
      const oldest = this.#marks.keys().next().value;
      if (oldest !== undefined) this.#marks.delete(oldest);
    }
  }
}

function id(key: SequenceKey): string {
  return `${key.appId}\u0000${key.dbKey}`;
}
