/**
 * messageKey: the time-ordered int64 id of a stored message (spec §5.10), laid out like the
 * original `SnowflakeIdWorker`: `((epochSeconds − 1546300800) << 21) | (workerId << 16) | seq16`.
 * Offline-message ZSETs are scored by it and the sdk drops duplicates by it (docs/architecture.md §4).
 *
 * The fields are combined with multiplication and addition, never 32-bit bit operators: the time
 * part needs 32 bits of its own, and a key is a JS number that stays below 2^53 until about 2155.
 */

/** Seconds of 2019-01-01T00:00:00Z, the original's custom epoch. */
export const MESSAGE_KEY_EPOCH_SECONDS = 1_546_300_800;
/** Keys per worker per second (16-bit sequence). */
export const MESSAGE_KEY_SEQ_PER_SECOND = 65_536;
/** Largest worker id (5 bits). */
export const MESSAGE_KEY_MAX_WORKER_ID = 31;

const WORKER_FACTOR = 2 ** 16;
const TIME_FACTOR = 2 ** 21;
/** Time parts from here on would reach 2^53 and lose precision. */
const MAX_TIME_PART = 2 ** 32;

/** A clock in milliseconds since the Unix epoch (Date.now by default). */
export type MillisClock = () => number;

/** The three fields of a messageKey. */
export interface DecodedMessageKey {
  /** Unix seconds of the key's (possibly borrowed, see MessageKeyGenerator) second. */
  epochSeconds: number;
  workerId: number;
  seq: number;
}

/**
 * Generates messageKeys for one worker id.
 *
 * Guarantees: keys from one generator strictly increase; generators with distinct worker ids never
 * produce the same key (the worker id is part of every key). Keeping worker ids distinct across live
 * processes is the caller's job (config `workerId`, or a lease).
 *
 * Exhaustion: when the 65,536 keys of a second are used up, the generator BORROWS the next second
 * (its logical second runs ahead of the clock) instead of the original's "backup worker"
 * (`workerId ^ 16`, which can collide with a real worker 16..31) or a blocking wait (which would
 * stall the event loop). Once the load drops, the clock catches up and keys follow it again.
 *
 * Clock going backwards: the generator keeps its last second and continues counting from it, so a
 * step back (NTP, VM migration) can never produce a duplicate or a smaller key.
 */
export class MessageKeyGenerator {
  private lastTimePart = -1;
  private seq = 0;

  /**
   * @param workerId 0..31
   * @param clock milliseconds since the Unix epoch; must not be before 2019-01-01
   * @throws RangeError for a worker id outside 0..31
   */
  constructor(
    readonly workerId: number,
    private readonly clock: MillisClock = Date.now,
  ) {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MESSAGE_KEY_MAX_WORKER_ID) {
      throw new RangeError(`messageKey workerId must be an integer from 0 to 31, got ${workerId}`);
    }
  }

  /**
   * The next key, strictly greater than every key this generator returned before.
   * @throws RangeError when the clock is before the 2019 epoch or past the 2^53 limit (year ~2155)
   */
  next(): number {
    const timePart = Math.floor(this.clock() / 1000) - MESSAGE_KEY_EPOCH_SECONDS;
    if (timePart > this.lastTimePart) {
      this.lastTimePart = timePart;
      this.seq = 0;
    } else if (this.seq < MESSAGE_KEY_SEQ_PER_SECOND - 1) {
      this.seq += 1; // same second, or the clock stepped back: continue the last second
    } else {
      this.lastTimePart += 1; // exhausted: borrow the next second
      this.seq = 0;
    }
    if (this.lastTimePart < 0 || this.lastTimePart >= MAX_TIME_PART) {
      throw new RangeError(`messageKey clock out of range: ${this.clock()} ms`);
    }
    return this.lastTimePart * TIME_FACTOR + this.workerId * WORKER_FACTOR + this.seq;
  }
}

/**
 * Splits a messageKey into its fields.
 * @throws RangeError for a value that is not a non-negative safe integer
 */
export function decodeMessageKey(key: number): DecodedMessageKey {
  if (!Number.isSafeInteger(key) || key < 0) {
    throw new RangeError(`not a messageKey: ${key}`);
  }
  const timePart = Math.floor(key / TIME_FACTOR);
  const low = key - timePart * TIME_FACTOR;
  return {
    epochSeconds: timePart + MESSAGE_KEY_EPOCH_SECONDS,
    workerId: Math.floor(low / WORKER_FACTOR),
    seq: low % WORKER_FACTOR,
  };
}
