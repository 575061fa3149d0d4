import type { KvStore } from "../ports/kv.js";

/**
 * The kv epoch: one key holding the time (ms) kv started holding data, created by whoever finds
 * it missing. Its absence, or a value other than the one a process saw before, means kv lost its
 * data (a flush, a restart without persistence, a failover to an empty replica). Readers:
 * - the send dedupe (services/domain/messaging/send-dedupe.ts) trusts kv alone to answer "new
 *   send" only for sends after the epoch;
 * - the Pusher (pusher.ts) reads it with every session lookup, so a push that found no session
 *   because kv had just lost them is known as such and retried once gateways restored them.
 * The name predates the second reader; it is kept so a running deployment's epoch stays valid.
 */
export const KV_EPOCH_KEY = "dedupe:epoch";

/** Writes the epoch as `now` unless another process did first; resolves with the epoch kv holds. */
export async function createKvEpoch(kv: KvStore, now: number): Promise<string | null> {
  const value = String(now);
  if (await kv.set(KV_EPOCH_KEY, value, { ifAbsent: true })) return value;
  return kv.get(KV_EPOCH_KEY);
}

/**
 * Tells, from successive reads of the epoch by one process, when kv lost its data. The first
 * read is never a loss: a process that just started cannot tell a fresh kv from a wiped one and
 * has nothing of its own to repair. After that, the epoch missing or changed is a loss; a missing
 * one found again before anyone re-created it is the same loss, not a new one.
 */
export class KvEpochWatch {
  /** undefined before the first read; null when the last read found it missing. */
  #last: string | null | undefined;

  /** Records one read of the epoch; true when it shows a loss since the previous read. */
  observe(value: string | null): boolean {
    const previous = this.#last;
    this.#last = value;
    return typeof previous === "string" && value !== previous;
  }
}
