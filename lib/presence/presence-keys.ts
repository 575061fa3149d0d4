import type { KvStore } from "../ports/kv.js";

/**
 * Online status (presence) in kv, shared by the gateway (which marks users whose devices changed)
 * and the domain (which evaluates them and pushes 4004 / 4005: services/domain/presence).
 *
 * kv has no sorted sets and no key scans (lib/ports/kv.ts), so "which users must be looked at
 * when" is kept in time buckets: `presence:due:{n}` is a hash whose fields name the users
 * (`{appId}:{userId}`) to evaluate once bucket n (`n × DUE_BUCKET_MS` epoch ms) has passed.
 * - A change (login, close for any reason, a custom status) marks the user in the bucket
 *   `presence.coalesceMs` ahead: every change of that user until then lands in the same or the
 *   next bucket and is evaluated once, against the state of that moment, so a device flapping
 *   faster than that pushes nothing but its last state.
 * - After an evaluation a user with online devices is marked again for when the oldest of them
 *   would go stale (its `lastSeenMs` + the online window): a gateway that died renews nothing, so
 *   that evaluation sees the device offline and pushes it (a live gateway's renewals keep it
 *   online and the user is marked again). This is the lease: the session record itself.
 * Each bucket is claimed by one domain process (`presence:claim:{n}`, set-if-absent with a TTL);
 * a claimer that dies leaves the bucket to be claimed again once its claim expires.
 */

/** Width of a due bucket. */
export const DUE_BUCKET_MS = 500;
/** How far back the sweepers look for unprocessed buckets (a claimer that died, a pause). */
export const DUE_LOOKBACK_BUCKETS = 120;
/** A bucket key outlives the lookback by this much, so an abandoned one disappears by itself. */
const DUE_KEY_TTL_MS = DUE_LOOKBACK_BUCKETS * DUE_BUCKET_MS + 60_000;

/** The bucket holding time `ms`. */
export function dueBucket(ms: number): number {
  return Math.floor(ms / DUE_BUCKET_MS);
}

/** kv key of a due bucket (global: the sweeper serves every app). */
export function dueKey(bucket: number): string {
  return `presence:due:${bucket}`;
}

/** kv key of a bucket's claim. */
export function claimKey(bucket: number): string {
  return `presence:claim:${bucket}`;
}

/** The field of a user in a due bucket. */
export function dueField(appId: number, userId: string): string {
  return `${appId}:${userId}`;
}

/** Parses a due field; null for anything malformed. */
export function parseDueField(field: string): { appId: number; userId: string } | null {
  const colon = field.indexOf(":");
  if (colon <= 0) return null;
  const appId = Number(field.slice(0, colon));
  const userId = field.slice(colon + 1);
  return Number.isInteger(appId) && appId > 0 && userId !== "" ? { appId, userId } : null;
}

/** What the domain last pushed for a user: field per device online, and {@link CUSTOM_FIELD}. */
export function seenKey(appId: number, userId: string): string {
  return `${appId}:presence:seen:${userId}`;
}

/** The snapshot's field holding the custom status text last pushed (no device field starts with "~"). */
export const CUSTOM_FIELD = "~custom";

/** A user's custom status: JSON {@link CustomStatus}. */
export function customKey(appId: number, userId: string): string {
  return `${appId}:presence:custom:${userId}`;
}

/** Subscribers of a user: field subscriber id, value the subscription's end (epoch ms). */
export function subscribersKey(appId: number, userId: string): string {
  return `${appId}:presence:subscribers:${userId}`;
}

/** The users a user subscribed to: field target id, value the end (epoch ms). */
export function subscriptionsKey(appId: number, userId: string): string {
  return `${appId}:presence:subscriptions:${userId}`;
}

/** Most characters of a custom status text. */
export const CUSTOM_STATUS_MAX_CHARS = 100;

/** A user's custom status text and the device that set it (named in the push). */
export interface CustomStatus {
  text: string;
  clientType: number;
  imei: string;
}

/** Marks a user for evaluation `coalesceMs` from `nowMs` (see above). */
export async function markPresenceDue(
  kv: KvStore,
  appId: number,
  userId: string,
  atMs: number,
): Promise<void> {
  const key = dueKey(dueBucket(atMs));
  await kv.hset(key, { [dueField(appId, userId)]: "1" });
  await kv.expire(key, DUE_KEY_TTL_MS);
}

/**
 * Writes a custom status; the caller marks the user due. An empty text is written too rather than
 * deleted, so the push that announces the clearing names the device that cleared it.
 */
export async function writeCustomStatus(
  kv: KvStore,
  appId: number,
  userId: string,
  status: CustomStatus,
): Promise<void> {
  await kv.set(customKey(appId, userId), JSON.stringify(status));
}

/** Reads a custom status; null when none (or unreadable). */
export function parseCustomStatus(value: string | null): CustomStatus | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value) as Partial<CustomStatus>;
    if (typeof v.text === "string" && typeof v.clientType === "number" && typeof v.imei === "string") {
      return { text: v.text, clientType: v.clientType, imei: v.imei };
    }
  } catch {
    // a corrupt value counts as no status
  }
  return null;
}

/**
 * The gateway's side: marks users whose devices changed (login, close) or who set a custom status
 * over the wire (4001), `coalesceMs` ahead. Failures are the caller's to log: a lost mark only
 * delays a push until the user's next change or scheduled evaluation.
 */
export class PresenceMarks {
  constructor(
    private readonly kv: KvStore,
    private readonly coalesceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user's devices changed. */
  changed(appId: number, userId: string): Promise<void> {
    return markPresenceDue(this.kv, appId, userId, this.now() + this.coalesceMs);
  }

  /**
   * After a kv loss, a device's session record was written back (gateway/session/session-restorer.ts
   * is where this belongs): records it as already announced online in the user's snapshot, so the
   * domain's evaluation pushes nothing for it (its watchers saw it online before the loss), and
   * marks the user so its staleness is watched again (the wipe took every mark).
   */
  async restored(appId: number, userId: string, clientType: number, imei: string): Promise<void> {
    await this.kv.hset(seenKey(appId, userId), { [`${clientType}:${imei}`]: "1" });
    await this.changed(appId, userId);
  }

  /** The user set a custom status from a device. */
  async setCustom(appId: number, userId: string, status: CustomStatus): Promise<void> {
    await writeCustomStatus(this.kv, appId, userId, status);
    await this.changed(appId, userId);
  }
}
