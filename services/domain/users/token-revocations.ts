import type { Logger } from "pino";
import { mirrorRevocation, REVOCATIONS_LOADED_KEY } from "../../../lib/auth/index.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";

/**
 * The domain's side of token revocation (lib/auth/token-revocations.ts has
 * the readers and the guarantees): the database column
 * `im_user_data.tokens_revoked_before` is the truth, kv a mirror every
 * process reads. A revocation writes the database, then kv; a domain process
 * copies the whole column into kv whenever kv lost the mirror (its marker
 * is gone), found by the calls that read it and by a check every
 * {@link RESTORE_CHECK_MS}.
 */

/** How often a domain process checks that kv still holds the revocation mirror. */
export const RESTORE_CHECK_MS = 5_000;

/**
 * Raises a user's cut-off to `cutoff` (Unix seconds) in the database, never
 * lowering it, then in kv. Resolves with the cut-off in force afterwards.
 * @throws ImError 20001 when the user is missing or deleted
 */
export async function revokeTokens(
  db: Database,
  kv: KvStore,
  appId: number,
  userId: string,
  cutoff: number,
): Promise<number> {
  // One statement, so two revocations racing keep the later cut-off.
  await db.userData.updateMany({
    where: {
      appId,
      userId,
      delFlag: 0,
      OR: [{ tokensRevokedBefore: null }, { tokensRevokedBefore: { lt: BigInt(cutoff) } }],
    },
    data: { tokensRevokedBefore: BigInt(cutoff) },
  });
  const row = await db.userData.findFirst({
    where: { appId, userId, delFlag: 0 },
    select: { tokensRevokedBefore: true },
  });
  if (row === null) throw ImError.of("USER_IS_NOT_EXIST", userId);
  const inForce = Number(row.tokensRevokedBefore ?? cutoff);
  await mirrorRevocation(kv, appId, userId, inForce);
  return inForce;
}

/** What a {@link RevocationMirror} needs. */
export interface RevocationMirrorOptions {
  db(): Promise<Database>;
  kv: KvStore;
  log: Logger;
  /** Check interval (default {@link RESTORE_CHECK_MS}). */
  checkMs?: number;
}

/** Keeps kv's revocation mirror filled from the database (one per domain process). */
export class RevocationMirror {
  readonly #opts: RevocationMirrorOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: RevocationMirrorOptions) {
    this.#opts = opts;
  }

  /**
   * Copies every cut-off of the database into kv (keeping larger ones kv
   * holds), then writes the marker that says kv is complete. Safe to run in
   * several processes at once.
   */
  async restore(): Promise<void> {
    const { kv, log } = this.#opts;
    const db = await this.#opts.db();
    const rows = await db.userData.findMany({
      where: { tokensRevokedBefore: { not: null } },
      select: { appId: true, userId: true, tokensRevokedBefore: true },
    });
    await Promise.all(
      rows.map((r) => mirrorRevocation(kv, r.appId, r.userId, Number(r.tokensRevokedBefore ?? 0n))),
    );
    await kv.set(REVOCATIONS_LOADED_KEY, String(Date.now()));
    log.info({ revoked: rows.length }, "token revocations copied into kv");
  }

  /** Restores now when kv lacks the marker, then checks every `checkMs` until {@link stop}. */
  async start(): Promise<void> {
    await this.#check();
    this.#timer = setInterval(() => void this.#check(), this.#opts.checkMs ?? RESTORE_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<void> {
    try {
      if ((await this.#opts.kv.get(REVOCATIONS_LOADED_KEY)) === null) await this.restore();
    } catch (error) {
      // kv or the database is down; the next check (or the next call that reads the mirror) retries.
      this.#opts.log.warn({ err: error }, "token revocation mirror check failed");
    }
  }
}
