/**
 * The kv port: sessions, routes, sequences, de-duplication and caches (docs/architecture.md §3).
 *
 * Semantics every adapter keeps (checked by `kv.contract.ts`):
 * - Keys and values are strings. The adapter applies its own key prefix
 *   (`redis.keyPrefix`), so callers never add one and tests can share a server.
 * - TTLs are milliseconds; absent or 0 means "no expiry". An expired key reads
 *   as missing, exactly like one never written.
 * - Single-key operations are atomic (`incrBy`, `incrAbove`, `set` with
 *   `ifAbsent`); the one operation over two keys, `claimAndCount`, is atomic
 *   too (on a Redis Cluster only when both keys share a slot: see there).
 *   Nothing else spans two keys.
 * - A key holds either a string or a hash; a string operation on a hash (or
 *   the reverse) rejects, as Redis's WRONGTYPE does. `set` replaces either.
 * - NOT durable. Redis may restart empty (it keeps nothing on disk here), and
 *   the memory adapter dies with its process. Whatever must survive lives in
 *   the database; kv only speeds it up (docs/architecture.md §4: sequences restart above
 *   their durable high-water mark with `incrAbove`).
 * Deliberately absent: key scans, transactions over several keys, pub/sub
 * (cross-node signals travel on the bus).
 */
export interface KvStore {
  /** The value, or null when the key is missing or expired. */
  get(key: string): Promise<string | null>;
  /**
   * The values of several string keys in one round trip (Redis MGET), in the
   * order asked; null for a missing key. Not atomic across keys.
   */
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  /**
   * Writes `value`. With `ifAbsent` the write happens only when the key is
   * missing, and the result says whether it happened (the de-duplication
   * primitive). Without it the result is always true.
   */
  set(key: string, value: string, opts?: { ttlMs?: number; ifAbsent?: boolean }): Promise<boolean>;
  /** Deletes the keys; resolves with how many existed. */
  del(...keys: string[]): Promise<number>;
  /**
   * Adds `by` (default 1) and returns the new value; a missing key counts from 0. Keeps the TTL.
   * Rejects when the value is not an integer. Counters are safe integers (|n| < 2^53).
   */
  incrBy(key: string, by?: number): Promise<number>;
  /**
   * Atomically sets the value to `max(current, floor) + by` (missing = 0) and
   * returns it: a counter that lost its data resumes above `floor`.
   */
  incrAbove(key: string, floor: number, by?: number): Promise<number>;
  /**
   * A claim that takes the next number of a counter, in one round trip (the
   * send path's kv step, services/domain/messaging/send-dedupe.ts): when `key`
   * is missing, sets it to `op.claim` for `op.claimTtlMs`, adds 1 to `counter`
   * and, when the new count is above `op.above`, replaces `key` with
   * `op.prefix + (count − op.above) + op.suffix` for `op.ttlMs`. Resolves
   * with the new count, or null when `key` existed (then nothing changed).
   * Atomic over both keys: no other operation sees the claim without the
   * count, and the counter moves only for the caller that claimed. Rejects
   * when `counter` is not an integer, leaving `key` as it was, and on a TTL
   * that is not above 0 (both must expire). On a Redis Cluster, two keys in
   * different slots cannot be touched by one script: the adapter then takes
   * the same steps in order (claim, count, value; docs/kv-keys.md), so others
   * may see the bare claim before the count, and a process dying between the
   * count and the value leaves an unused count (a gap), never a duplicate.
   */
  claimAndCount(key: string, counter: string, op: ClaimAndCount): Promise<number | null>;
  /** Sets a TTL on an existing key; false when the key is missing. `ttlMs` 0 removes the TTL. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** One field of a hash, or null. */
  hget(key: string, field: string): Promise<string | null>;
  /** Writes the given fields of a hash (others are kept). Keeps the key's TTL. */
  hset(key: string, fields: Record<string, string>): Promise<void>;
  /** Deletes fields; resolves with how many existed. A hash left empty disappears. */
  hdel(key: string, ...fields: string[]): Promise<number>;
  /** Every field of a hash; `{}` when the key is missing. */
  hgetall(key: string): Promise<Record<string, string>>;
  /**
   * `hgetall` of several hashes in one round trip (a Redis pipeline), in the
   * order asked: the push path reads the sessions of a whole group at once.
   */
  hgetallMany(keys: readonly string[]): Promise<Array<Record<string, string>>>;
  /** Releases connections. Further calls reject. */
  close(): Promise<void>;
}

/** What {@link KvStore.claimAndCount} writes. */
export interface ClaimAndCount {
  /** The claim's value while the count is not above `above`. */
  claim: string;
  claimTtlMs: number;
  /** Counts at or below it leave the bare claim (the caller repairs the counter first). */
  above: number;
  /** The value written above it: `prefix + (count − above) + suffix`. */
  prefix: string;
  suffix: string;
  /** The TTL of that value. */
  ttlMs: number;
}
