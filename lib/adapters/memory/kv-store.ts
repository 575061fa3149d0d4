import type { ClaimAndCount, KvStore } from "../../ports/kv.js";
import { ExpiryHeap } from "./expiry-heap.js";

type Entry =
  | { kind: "string"; value: string; expiresAt: number }
  | { kind: "hash"; fields: Map<string, string>; expiresAt: number };

/** How often expired keys nobody reads again are reclaimed. Reads check the deadline themselves. */
const SWEEP_INTERVAL_MS = 1_000;

/**
 * The kv port in process memory (embedded profile, tests). Same semantics as
 * Redis (see `KvStore`): TTLs are checked on every read, so an expired key is
 * missing the very millisecond its TTL passes; a background sweep (an
 * `unref`'d timer, it never keeps the process alive) reclaims the memory of
 * keys nobody reads again, such as de-duplication markers. Everything dies
 * with the process. Operations of the wrong kind (`incrBy` on a non-integer,
 * `hget` on a string) reject like Redis's WRONGTYPE.
 */
export class MemoryKvStore implements KvStore {
  private readonly entries = new Map<string, Entry>();
  private readonly expiries = new ExpiryHeap();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  /** Keys held, expired ones not yet reclaimed included (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (entry === undefined) return null;
    return stringOf(key, entry).value;
  }

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    // Like Redis's MGET, a key holding a hash reads as null rather than failing the batch.
    return keys.map((key) => {
      const entry = this.live(key);
      return entry === undefined || entry.kind !== "string" ? null : entry.value;
    });
  }

  async set(key: string, value: string, opts?: { ttlMs?: number; ifAbsent?: boolean }): Promise<boolean> {
    const ttlMs = checkTtl(opts?.ttlMs ?? 0);
    if (this.live(key) !== undefined && opts?.ifAbsent === true) return false;
    const expiresAt = this.deadline(key, ttlMs);
    this.entries.set(key, { kind: "string", value, expiresAt });
    return true;
  }

  async del(...keys: string[]): Promise<number> {
    this.ensureOpen();
    let count = 0;
    for (const key of new Set(keys)) if (this.live(key) !== undefined && this.entries.delete(key)) count++;
    return count;
  }

  async incrBy(key: string, by = 1): Promise<number> {
    return this.add(key, checkInteger(by, "by"), undefined);
  }

  async incrAbove(key: string, floor: number, by = 1): Promise<number> {
    return this.add(key, checkInteger(by, "by"), checkInteger(floor, "floor"));
  }

  async claimAndCount(key: string, counter: string, op: ClaimAndCount): Promise<number | null> {
    const claimTtlMs = checkTtl(op.claimTtlMs);
    const ttlMs = checkTtl(op.ttlMs);
    if (claimTtlMs === 0 || ttlMs === 0) throw new RangeError("kv: claimAndCount needs TTLs > 0");
    checkInteger(op.above, "above");
    if (this.live(key) !== undefined) return null;
    const count = this.add(counter, 1, undefined); // throws before the claim is written
    const value = count > op.above ? `${op.prefix}${count - op.above}${op.suffix}` : op.claim;
    const expiresAt = this.deadline(key, count > op.above ? ttlMs : claimTtlMs);
    this.entries.set(key, { kind: "string", value, expiresAt });
    return count;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (entry === undefined) return false;
    entry.expiresAt = this.deadline(key, checkTtl(ttlMs));
    return true;
  }

  async hget(key: string, field: string): Promise<string | null> {
    const entry = this.live(key);
    return entry === undefined ? null : (hashOf(key, entry).fields.get(field) ?? null);
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    const entry = this.live(key);
    const names = Object.keys(fields);
    if (names.length === 0) return; // Redis refuses an empty HSET; nothing to write either way
    const hash =
      entry === undefined
        ? { kind: "hash" as const, fields: new Map<string, string>(), expiresAt: 0 }
        : hashOf(key, entry);
    for (const name of names) hash.fields.set(name, fields[name]!);
    this.entries.set(key, hash);
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    const entry = this.live(key);
    if (entry === undefined) return 0;
    const hash = hashOf(key, entry);
    let count = 0;
    for (const field of fields) if (hash.fields.delete(field)) count++;
    if (hash.fields.size === 0) this.entries.delete(key); // an empty hash disappears, as in Redis
    return count;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    const entry = this.live(key);
    return entry === undefined ? {} : Object.fromEntries(hashOf(key, entry).fields);
  }

  async hgetallMany(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    return keys.map((key) => {
      const entry = this.live(key);
      return entry === undefined ? {} : Object.fromEntries(hashOf(key, entry).fields);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.entries.clear();
  }

  /** The entry of a key unless missing or expired; rejects every call once closed. */
  private live(key: string): Entry | undefined {
    this.ensureOpen();
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error("kv store is closed");
  }

  private add(key: string, by: number, floor: number | undefined): number {
    const entry = this.live(key);
    const current = entry === undefined ? 0 : parseInteger(key, stringOf(key, entry).value);
    const next = (floor === undefined ? current : Math.max(current, floor)) + by;
    if (!Number.isSafeInteger(next)) throw new Error(`kv ${key}: increment overflows`);
    // The TTL stays, as INCRBY keeps it in Redis.
    this.entries.set(key, { kind: "string", value: String(next), expiresAt: entry?.expiresAt ?? 0 });
    return next;
  }

  /** Deadline for a TTL (0 = none), indexed for the sweep. */
  private deadline(key: string, ttlMs: number): number {
    if (ttlMs === 0) return 0;
    const expiresAt = Date.now() + ttlMs;
    this.expiries.push(expiresAt, key);
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      this.sweeper.unref();
    }
    return expiresAt;
  }

  private sweep(): void {
    const now = Date.now();
    for (let due = this.expiries.popDue(now); due !== undefined; due = this.expiries.popDue(now)) {
      // Skip stale heap entries: the key was rewritten with another deadline or deleted.
      if (this.entries.get(due.key)?.expiresAt === due.deadline) this.entries.delete(due.key);
    }
  }
}

function stringOf(key: string, entry: Entry): Extract<Entry, { kind: "string" }> {
  if (entry.kind !== "string") throw new Error(`kv ${key}: WRONGTYPE, the key holds a hash`);
  return entry;
}

function hashOf(key: string, entry: Entry): Extract<Entry, { kind: "hash" }> {
  if (entry.kind !== "hash") throw new Error(`kv ${key}: WRONGTYPE, the key holds a string`);
  return entry;
}

function parseInteger(key: string, value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new Error(`kv ${key}: value is not an integer`);
  }
  return n;
}

function checkInteger(n: number, name: string): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`kv: ${name} must be a safe integer, got ${n}`);
  return n;
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`kv: ttlMs must be >= 0, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
