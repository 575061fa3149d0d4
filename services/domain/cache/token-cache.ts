import type { ChangeTokens } from "./change-tokens.js";

/** What a {@link TokenCache} is built from. */
export interface TokenCacheOptions {
  tokens: ChangeTokens;
  /** Most entries kept; the least recently used go first. */
  maxEntries: number;
  /**
   * Longest an entry is used, however current its tokens: bounds how long a
   * change made behind the domain's back (SQL by hand) goes unseen.
   */
  maxAgeMs: number;
  now?: () => number;
}

interface Entry<T> {
  tokens: string[];
  value: T;
  loadedAt: number;
}

/**
 * An in-process cache of rows read from the database, each entry valid while
 * the change tokens of its scopes are the ones it was loaded under (see
 * change-tokens.ts for why that is safe across processes). A hit costs one kv
 * round trip (the tokens) instead of database queries.
 */
export class TokenCache<T> {
  readonly #opts: TokenCacheOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<T>>();
  hits = 0;
  misses = 0;

  constructor(opts: TokenCacheOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The cached value of `key` if its `scopes` did not change since it was loaded, else `load()`'s. */
  async get(key: string, scopes: readonly string[], load: () => Promise<T>): Promise<T> {
    const tokens = await this.#opts.tokens.read(scopes);
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (
      entry !== undefined &&
      now - entry.loadedAt < this.#opts.maxAgeMs &&
      sameTokens(entry.tokens, tokens)
    ) {
      // Move to the back: Map keeps insertion order, so the front is the least recently used.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.hits++;
      return entry.value;
    }
    this.misses++;
    const value = await load();
    this.#entries.delete(key);
    this.#entries.set(key, { tokens, value, loadedAt: now });
    while (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return value;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
