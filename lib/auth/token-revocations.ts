import type { Logger } from "pino";
import { ImError } from "../errors/index.js";
import type { KvStore } from "../ports/kv.js";

/**
 * Token revocation (issue 13, UserService.RevokeTokens): per user a cut-off
 * in Unix seconds, "every userSign issued (`TLS.expireTime`) before this is
 * invalid". The database holds it durably (`im_user_data.tokens_revoked_before`);
 * kv mirrors it, so the checks cost no database query: a gateway LOGIN reads
 * one kv key, an app gRPC call reads it in the same MGET as its userSign
 * cache (lib/grpc/auth.ts), and neither keeps a copy of its own.
 *
 * Bound: a revocation is effective on every gateway and every domain and
 * store process as soon as RevokeTokens returned (it writes the database,
 * then kv, before answering). kv is not durable: after kv lost its data
 * (a wiped Redis), the marker {@link REVOCATIONS_LOADED_KEY} is gone too, and
 * - a domain process restores every cut-off from the database before it
 *   answers the call that noticed (its `restore`), and at the latest within
 *   its periodic check (services/domain/users/token-revocations.ts, 5 s);
 * - a gateway or the store, which have no `restore`, check against what kv
 *   holds meanwhile (a revoked token is accepted until a domain restored the
 *   mirror, at most that check interval; logged as a warning).
 *
 * kv keys: `{appId}:tokensRevokedBefore:{userId.length}:{userId}` → the
 * cut-off (decimal seconds, no TTL, only ever raised: {@link mirrorRevocation});
 * `tokensRevokedBefore:loaded` → set once kv holds every cut-off of the database.
 */

/** kv key of one user's cut-off (the length keeps `a:b`+`c` apart from `a`+`b:c`). */
export function revocationKey(appId: number, userId: string): string {
  return `${appId}:tokensRevokedBefore:${userId.length}:${userId}`;
}

/** kv key that says kv holds every cut-off of the database (written after a restore). */
export const REVOCATIONS_LOADED_KEY = "tokensRevokedBefore:loaded";

/**
 * Writes a cut-off into kv, keeping the larger of it and the one there: a
 * restore copying an older value never undoes a newer revocation.
 */
export async function mirrorRevocation(
  kv: KvStore,
  appId: number,
  userId: string,
  cutoff: number,
): Promise<void> {
  await kv.incrAbove(revocationKey(appId, userId), cutoff, 0);
}

/**
 * @throws ImError USERSIGN_IS_EXPIRED (60004, UNAUTHENTICATED) when the token was issued before
 *   the cut-off: to the client a revoked token is one that expired, so it fetches a new one.
 */
export function assertNotRevoked(issuedAt: number, cutoff: number): void {
  if (issuedAt < cutoff) throw ImError.of("USERSIGN_IS_EXPIRED", "userSign revoked");
}

/** What a {@link TokenRevocations} needs. */
export interface TokenRevocationsOptions {
  kv: KvStore;
  /**
   * Copies every cut-off of the database into kv and then writes
   * {@link REVOCATIONS_LOADED_KEY}. Only a domain process has one; without it
   * a missing marker is logged and kv's values are used as they are.
   */
  restore?: () => Promise<void>;
  log?: Logger;
}

/** How often at most the "kv lost the revocations" warning is logged, per process. */
const WARN_EVERY_MS = 60_000;

/** Reads users' cut-offs from kv (see the file comment for the guarantees). */
export class TokenRevocations {
  readonly #opts: TokenRevocationsOptions;
  #restoring: Promise<void> | undefined;
  #warnedAt = Number.NEGATIVE_INFINITY;

  constructor(opts: TokenRevocationsOptions) {
    this.#opts = opts;
  }

  /**
   * The user's cut-off in Unix seconds (0 = none), reading `alongside` keys
   * in the same MGET (one round trip for the caller's own lookups).
   * @throws when a needed restore fails (the database is down): the caller refuses the call
   */
  async read(
    appId: number,
    userId: string,
    alongside: readonly string[] = [],
  ): Promise<{ cutoff: number; alongside: Array<string | null> }> {
    const key = revocationKey(appId, userId);
    const values = await this.#opts.kv.mget([...alongside, key, REVOCATIONS_LOADED_KEY]);
    const n = alongside.length;
    let cutoff = parseCutoff(values[n] ?? null);
    if ((values[n + 1] ?? null) === null) cutoff = Math.max(cutoff, await this.#incomplete(key));
    return { cutoff, alongside: values.slice(0, n) };
  }

  /**
   * Refuses a token of `userId` issued at `issuedAt` (Unix seconds) if the user's tokens were
   * revoked since. @throws ImError 60004
   */
  async check(appId: number, userId: string, issuedAt: number): Promise<void> {
    const { cutoff } = await this.read(appId, userId);
    assertNotRevoked(issuedAt, cutoff);
  }

  /** kv lost the mirror (or nobody filled it yet): restore it when this process can, else warn. */
  async #incomplete(key: string): Promise<number> {
    const { restore, log, kv } = this.#opts;
    if (restore === undefined) {
      const now = Date.now();
      if (now - this.#warnedAt >= WARN_EVERY_MS) {
        this.#warnedAt = now;
        log?.warn("kv holds no token revocations marker: revocations count once a domain restored them");
      }
      return 0;
    }
    // One restore at a time per process; every call that noticed waits for it.
    this.#restoring ??= restore().finally(() => {
      this.#restoring = undefined;
    });
    await this.#restoring;
    return parseCutoff(await kv.get(key));
  }
}

/** A kv value as a cut-off: 0 for none (or a value that is no integer, which only we write). */
function parseCutoff(value: string | null): number {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
