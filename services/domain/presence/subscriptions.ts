import { ImError } from "../../../lib/errors/index.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { subscribersKey, subscriptionsKey } from "../../../lib/presence/presence-keys.js";

/** The bounds of subscriptions (config `presence.*`). */
export interface SubscriptionLimits {
  maxSubscribers: number;
  maxSubscriptions: number;
}

/**
 * Presence subscriptions in kv, kept from both sides: `subscribers:{target}` (who gets the
 * target's 4004) and `subscriptions:{subscriber}` (what the subscriber's limit counts). Each field
 * holds the subscription's end (epoch ms); an ended one counts for nothing and is removed when
 * its hash is next read. Each hash expires with its latest subscription, so nothing is left
 * behind by users who never come back.
 *
 * The limits are checked before anything is written, from a read of the hashes: two Subscribe
 * calls racing for the last slots may together pass a limit by the size of one call (at most
 * 100, the request's list bound). kv has no transaction over several keys (lib/ports/kv.ts).
 */

/** The live entries of a hash at `nowMs`; ended ones are deleted on the way. */
async function live(kv: KvStore, key: string, nowMs: number): Promise<Map<string, number>> {
  const all = await kv.hgetall(key);
  const out = new Map<string, number>();
  const ended: string[] = [];
  for (const [field, value] of Object.entries(all)) {
    const end = Number(value);
    if (Number.isFinite(end) && end > nowMs) out.set(field, end);
    else ended.push(field);
  }
  if (ended.length > 0) await kv.hdel(key, ...ended);
  return out;
}

/** Writes fields and stretches the hash's TTL to cover its latest entry. */
async function write(
  kv: KvStore,
  key: string,
  fields: Record<string, string>,
  latest: number,
  nowMs: number,
) {
  await kv.hset(key, fields);
  await kv.expire(key, Math.max(1, latest - nowMs));
}

/**
 * Subscribes `subscriber` to `targets` until `endMs` (renewing existing ones).
 * @throws ImError 20004 past either limit; then nothing was written
 */
export async function subscribe(
  kv: KvStore,
  appId: number,
  subscriber: string,
  targets: readonly string[],
  endMs: number,
  nowMs: number,
  limits: SubscriptionLimits,
): Promise<void> {
  const mine = await live(kv, subscriptionsKey(appId, subscriber), nowMs);
  const added = targets.filter((t) => !mine.has(t)).length;
  if (mine.size + added > limits.maxSubscriptions) {
    throw ImError.of(
      "PRESENCE_LIMIT_EXCEEDED",
      `${subscriber} may watch at most ${limits.maxSubscriptions} users (has ${mine.size}, adds ${added})`,
    );
  }
  const theirs = await Promise.all(targets.map((t) => live(kv, subscribersKey(appId, t), nowMs)));
  targets.forEach((target, i) => {
    const subs = theirs[i] ?? new Map<string, number>();
    if (!subs.has(subscriber) && subs.size >= limits.maxSubscribers) {
      throw ImError.of(
        "PRESENCE_LIMIT_EXCEEDED",
        `${target} has the most subscribers allowed (${limits.maxSubscribers})`,
      );
    }
  });
  const end = String(endMs);
  await Promise.all(
    targets.map((target, i) => {
      const latest = Math.max(endMs, ...(theirs[i]?.values() ?? []));
      return write(kv, subscribersKey(appId, target), { [subscriber]: end }, latest, nowMs);
    }),
  );
  const fields = Object.fromEntries(targets.map((t) => [t, end]));
  await write(kv, subscriptionsKey(appId, subscriber), fields, Math.max(endMs, ...mine.values()), nowMs);
}

/** Ends `subscriber`'s subscriptions to `targets`. */
export async function unsubscribe(
  kv: KvStore,
  appId: number,
  subscriber: string,
  targets: readonly string[],
): Promise<void> {
  if (targets.length === 0) return;
  await Promise.all(targets.map((t) => kv.hdel(subscribersKey(appId, t), subscriber)));
  await kv.hdel(subscriptionsKey(appId, subscriber), ...targets);
}

/** The live subscribers of `target`. */
export async function subscribersOf(
  kv: KvStore,
  appId: number,
  target: string,
  nowMs: number,
): Promise<string[]> {
  return [...(await live(kv, subscribersKey(appId, target), nowMs)).keys()];
}
