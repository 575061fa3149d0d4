/**
 * A set that remembers at most `capacity` keys, forgetting the least recently seen first. The
 * client keeps the messageKeys it delivered here to drop redeliveries (docs/architecture.md §4: delivery is
 * at least once; the SDK drops duplicates), in bounded memory.
 */
export class LruSet<K> {
  // A Map iterates in insertion order, so re-inserting on access keeps the oldest key first.
  readonly #keys = new Map<K, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1: ${capacity}`);
  }

  /** Number of remembered keys (never above capacity). */
  get size(): number {
    return this.#keys.size;
  }

  /** True when `key` is remembered; does not refresh it. */
  has(key: K): boolean {
    return this.#keys.has(key);
  }

  /**
   * Remembers `key` as the most recent. Returns true when it was new, false when it was already
   * there (a duplicate).
   */
  add(key: K): boolean {
    const seen = this.#keys.delete(key);
    this.#keys.set(key, true);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.keys().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
    return !seen;
  }
}
