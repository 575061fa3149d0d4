import { randomBytes } from "node:crypto";
import { groupChangeTokenKey, userChangeTokenKey } from "../../../lib/change-tokens/change-token-keys.js";
import type { KvStore } from "../../../lib/ports/kv.js";

/**
 * Change tokens: how every domain process knows that its cached copy of some
 * rows is still current, without asking the database (the send path's
 * permission data, a group's member list).
 *
 * One kv string per scope holds a random token: a user (their user row and
 * the friendship rows they own, `from_id` = the user) or a group (its row and
 * its member rows). Whoever changes rows of a scope writes a NEW random token
 * AFTER its transaction commits ({@link ChangeTokens.bump}). A reader takes
 * the tokens first, then the rows, and keeps the rows under those tokens; a
 * copy is used only while every token it was read under is unchanged.
 *
 * Why this is safe in every interleaving:
 * - a change that commits after the reader took its tokens bumps them later,
 *   so the copy (perhaps read before the commit) no longer matches;
 * - a change that committed before the reader took its tokens is in the rows
 *   it reads;
 * - tokens are random, never counters, so a token lost with kv (Redis wiped,
 *   or the key expired) is replaced by a fresh one on the next read
 *   ({@link ChangeTokens.read} creates a missing token with `ifAbsent`), and no
 *   copy taken under an old token can match it again.
 * Left open: rows changed behind the domain's back (SQL by hand) are seen
 * when the scope's token changes or the copy ages out (the caches cap age).
 */
export class ChangeTokens {
  readonly #kv: KvStore;
  readonly #ttlMs: number;

  /** @param ttlMs how long an unused token lives in kv (a missing one is simply recreated) */
  constructor(kv: KvStore, ttlMs = 7 * 24 * 3600_000) {
    this.#kv = kv;
    this.#ttlMs = ttlMs;
  }

  /** The scope of one user: their user row and the friendship rows they own (from_id). */
  static user(appId: number, userId: string): string {
    return userChangeTokenKey(appId, userId);
  }

  /** The scope of one group: its row and its member rows. */
  static group(appId: number, groupId: string): string {
    return groupChangeTokenKey(appId, groupId);
  }

  /** The current token of each scope, in order; a missing token is created (one round trip when all exist). */
  async read(scopes: readonly string[]): Promise<string[]> {
    const tokens = await this.#kv.mget(scopes);
    return Promise.all(
      tokens.map(async (token, i) => {
        if (token !== null) return token;
        const scope = scopes[i] as string;
        const fresh = newToken();
        if (await this.#kv.set(scope, fresh, { ifAbsent: true, ttlMs: this.#ttlMs })) return fresh;
        return (await this.#kv.get(scope)) ?? fresh;
      }),
    );
  }

  /** Marks the scopes changed: call after the change committed. */
  async bump(scopes: readonly string[]): Promise<void> {
    await Promise.all(scopes.map((scope) => this.#kv.set(scope, newToken(), { ttlMs: this.#ttlMs })));
  }

  /**
   * Runs a change and then bumps its scopes, also when it failed (it may have
   * committed before failing; a needless bump only costs a reload). A failed
   * bump fails the call: the caller retries rather than leave caches stale.
   */
  async around<T>(scopes: readonly string[], change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      await this.bump(scopes);
    }
  }

  /** {@link bump} for users of one app. */
  bumpUsers(appId: number, userIds: Iterable<string>): Promise<void> {
    return this.bump([...new Set(userIds)].map((u) => ChangeTokens.user(appId, u)));
  }

  /** {@link bump} for one group. */
  bumpGroup(appId: number, groupId: string): Promise<void> {
    return this.bump([ChangeTokens.group(appId, groupId)]);
  }
}

function newToken(): string {
  return randomBytes(9).toString("base64url");
}
