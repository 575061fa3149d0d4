import type { Logger } from "pino";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import {
  claimKey,
  DUE_BUCKET_MS,
  DUE_LOOKBACK_BUCKETS,
  dueBucket,
  dueKey,
  markPresenceDue,
  parseDueField,
} from "../../../lib/presence/presence-keys.js";
import type { Pusher } from "../../../lib/push/pusher.js";
import { evaluateUser, presencePushes } from "./evaluate.js";
import { subscribersOf } from "./subscriptions.js";

/** Presence settings (config `presence.*`, the online window of lib/sessions). */
export interface PresenceSettings {
  notifyFriends: boolean;
  coalesceMs: number;
  maxSubscribers: number;
  maxSubscriptions: number;
  defaultSubscriptionTtlMs: number;
  maxSubscriptionTtlMs: number;
  sweepIntervalMs: number;
  /** How long after `lastSeenMs` a device counts as online (services/domain/start.ts onlineWindowMs). */
  onlineWindowMs: number;
}

/** What presence needs from the domain. */
export interface PresenceDeps {
  kv: KvStore;
  pusher: Pick<Pusher, "pushAll">;
  db(): Promise<Database>;
  logger: Logger;
  settings: PresenceSettings;
  now?: () => number;
}

/** Most friends one change is pushed to (the friend list is read in one query). */
export const MAX_FRIENDS_NOTIFIED = 5000;
/** How long a domain's claim on a bucket lasts; a claimer that dies frees the bucket after it. */
const CLAIM_TTL_MS = 10_000;
/** Users of one bucket evaluated at once. */
const PARALLEL = 32;

/**
 * The domain's side of presence (lib/presence/presence-keys.ts describes the kv layout): every
 * `sweepIntervalMs` it claims the due buckets that have passed, evaluates their users against what
 * was last pushed, pushes the differences (4004 to subscribers and friends, 4005 to the user's
 * other devices) and marks users with online devices due again for when the oldest of them would
 * go stale. Every domain process runs one; the claims spread the buckets over them.
 */
export class Presence {
  readonly settings: PresenceSettings;
  readonly #deps: PresenceDeps;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: PresenceDeps) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.#now = deps.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  get kv(): KvStore {
    return this.#deps.kv;
  }

  /** Marks a user due after the coalescing window (a change seen by the domain itself). */
  changed(appId: number, userId: string): Promise<void> {
    return markPresenceDue(this.#deps.kv, appId, userId, this.#now() + this.settings.coalesceMs);
  }

  /** Starts the sweeper. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => {
      if (this.#running !== undefined) return; // a slow sweep is never overlapped by the next
      this.#running = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.#deps.logger.warn({ err }, "presence sweep failed"))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.settings.sweepIntervalMs);
    this.#timer.unref();
  }

  /** Stops the sweeper and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * One sweep: the passed buckets of the lookback window that still hold users, each claimed by
   * at most one domain at a time; resolves with how many users it evaluated.
   */
  async sweep(): Promise<number> {
    const kv = this.#deps.kv;
    const current = dueBucket(this.#now());
    const buckets: number[] = [];
    for (let b = current - DUE_LOOKBACK_BUCKETS; b < current; b++) buckets.push(b);
    const hashes = await kv.hgetallMany(buckets.map(dueKey));
    let evaluated = 0;
    for (let i = 0; i < buckets.length; i++) {
      const fields = Object.keys(hashes[i] ?? {});
      const bucket = buckets[i] as number;
      if (fields.length === 0) continue;
      if (!(await kv.set(claimKey(bucket), "1", { ifAbsent: true, ttlMs: CLAIM_TTL_MS }))) continue;
      for (let at = 0; at < fields.length; at += PARALLEL) {
        const slice = fields.slice(at, at + PARALLEL);
        await Promise.all(slice.map((f) => this.#evaluateField(f)));
        // Removed as they are done: a claimer dying midway leaves only the rest for the next one.
        await kv.hdel(dueKey(bucket), ...slice);
      }
      evaluated += fields.length;
    }
    return evaluated;
  }

  async #evaluateField(field: string): Promise<void> {
    const user = parseDueField(field);
    if (user === null) return;
    try {
      await this.evaluate(user.appId, user.userId);
    } catch (err) {
      // Marked again so a kv or bus hiccup delays the push instead of losing it.
      this.#deps.logger.warn({ err, appId: user.appId, userId: user.userId }, "presence evaluation failed");
      await this.changed(user.appId, user.userId).catch(() => undefined);
    }
  }

  /** Evaluates one user now: pushes what changed, and marks the next evaluation. */
  async evaluate(appId: number, userId: string): Promise<void> {
    const now = this.#now();
    const kv = this.#deps.kv;
    const evaluation = await evaluateUser(
      { kv, onlineWindowMs: this.settings.onlineWindowMs },
      appId,
      userId,
      now,
    );
    if (evaluation.nextDueMs !== null) {
      // A bucket after the device goes stale (never the current one, which may be in its sweep).
      const at = Math.max(evaluation.nextDueMs + DUE_BUCKET_MS, now + DUE_BUCKET_MS * 2);
      await markPresenceDue(kv, appId, userId, at);
    }
    if (evaluation.changes.length === 0) return;
    const watchers = new Set(await subscribersOf(kv, appId, userId, now));
    if (this.settings.notifyFriends) for (const f of await this.#friendsOf(appId, userId)) watchers.add(f);
    await this.#deps.pusher.pushAll(appId, presencePushes(appId, userId, evaluation, [...watchers]));
  }

  /** The user's friends (a normal friendship the user did not blacklist). */
  async #friendsOf(appId: number, userId: string): Promise<string[]> {
    const db = await this.#deps.db();
    const rows = await db.friendship.findMany({
      where: { appId, fromId: userId, status: 1, black: 1 },
      select: { toId: true },
      take: MAX_FRIENDS_NOTIFIED,
    });
    return rows.map((r) => r.toId);
  }
}
