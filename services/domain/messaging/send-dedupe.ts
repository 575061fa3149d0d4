import DataLoader from "dataloader";
import type { MessageBody as BodyRow } from "../../../gen/prisma/client.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { createKvEpoch, KV_EPOCH_KEY } from "../../../lib/push/kv-epoch.js";
import { type ChatMessage, fromBodyRow } from "./chat-message.js";

/**
 * Idempotent sends by `(appId, fromId, messageId)` (docs/architecture.md §4 "No
 * duplicates", fixes D28): a retry gets the first answer (same messageKey
 * and messageSequence) and nothing is stored twice.
 *
 * Two layers:
 * - kv, key `{appId}:cacheMessage:{fromId.length}:{fromId}:{messageId}`
 *   (the original's key plus the sender, whose id space messageIds live in;
 *   the length keeps `a:b`+`c` apart from `a`+`b:c`): `pending` while a
 *   call is accepting the message (a `set ifAbsent` claim, so two identical
 *   sends racing accept it once), then the accepted message for `ttlMs`;
 * - the database: im_message_id's primary key (app_id, from_id, message_id)
 *   names the stored message's key (the store writes it with the body), which
 *   answers retries after the cache expired or kv lost its data.
 * Residual window: kv lost AND the retry arrives before the store wrote the
 * first copy (it writes within milliseconds; the SDK retries after seconds).
 * The store then keeps the first message and drops the second
 * (store_job.proto), so storage stays single; only that retry's ACK names a
 * key that was not kept.
 *
 * When kv alone can answer "new" (issue 8: the database lookup was the
 * largest cost of a send): kv keeps an epoch (lib/push/kv-epoch.ts, shared
 * with the push path's kv-loss detection), the time it started holding data
 * (created on first use, so a wiped Redis gets a new one), read in the same
 * MGET as the send's key. Whoever creates it, it is no earlier than the
 * first dedupe record written after a loss, since a send reads it (and
 * creates it when missing) before writing its record. A send whose
 * client-side `messageTime` lies in
 *   [max(epoch, now − ttlMs) + {@link RECENT_MARGIN_MS}, now + {@link CLOCK_AHEAD_MS}]
 * and is missing from kv was never accepted, so the database is not asked.
 * Why: an earlier acceptance of the same send happened at a server time A no
 * earlier than the client's first attempt; a client clock ahead of ours by d
 * (d ≤ CLOCK_AHEAD_MS, else the window refuses it) makes messageTime ≤ A + d,
 * so A ≥ messageTime − d > max(epoch, now − ttlMs) (RECENT_MARGIN_MS >
 * CLOCK_AHEAD_MS): A's record was written after the epoch and has not
 * expired, so kv would have it. Resends reuse the first attempt's
 * messageTime (the SDK resends the same frame); a send without messageTime,
 * with an old one, or from a clock far off takes the database path. A client
 * that resends with a NEWER messageTime after the kv record expired is not
 * recognised (its copy is dropped by the store's unique key, as above).
 * Also left: a kv write of the accepted record that fails while kv keeps
 * answering (the record is retried in the background, see remember()).
 */

/** How far inside the kv-complete window a messageTime must be for kv alone to answer. */
export const RECENT_MARGIN_MS = 6_000;
/** How far ahead of the server's clock a client's messageTime may be for kv alone to answer. */
export const CLOCK_AHEAD_MS = 5_000;

/**
 * A kv entry: `pending` is a claim (no message yet), or, with `m` and `at`,
 * a message given its key and sequence at `at` whose job is being published;
 * `unconfirmed` a message whose job publish failed; `accepted` a message the
 * bus holds (ACKed).
 */
type Entry =
  | { s: "pending"; m?: ChatMessage; at?: number }
  | { s: "unconfirmed"; m: ChatMessage }
  | { s: "accepted"; m: ChatMessage };

/**
 * What a lookup found: an accepted message (answer with it), or one that got
 * its key and sequence but whose job may not be on the bus (its holder's
 * publish failed, or it is older than the takeover time: the holder died or
 * is slow).
 * The caller publishes an unconfirmed message's job again, under the same key
 * and sequence (the store writes it once), and then it is accepted.
 */
export type KnownSend = { state: "accepted" | "unconfirmed"; message: ChatMessage };

/** What names one send. */
interface SendId {
  appId: number;
  fromId: string;
  messageId: string;
}

/** What a {@link SendDedupe} needs. */
export interface SendDedupeOptions {
  kv: KvStore;
  db(): Promise<Database>;
  /** How long an accepted message is remembered in kv. */
  ttlMs: number;
  /** How long a claim lives if its holder dies mid-send (default 10 s). */
  claimTtlMs?: number;
  /**
   * How old a message recorded under a claim (key and sequence given, job not yet known to be
   * on the bus) must be before a retry stops waiting for its holder and publishes it itself
   * (default 2 s; see {@link find}). Keep it below `waitMs`, so a retry takes over rather than
   * failing.
   */
  takeoverMs?: number;
  /** How long a duplicate waits for a pending claim before giving up (default 4 s). */
  waitMs?: number;
  /** Poll interval while waiting (default 20 ms). */
  pollMs?: number;
}

/** The dedupe cache of chat sends. */
export class SendDedupe {
  readonly #opts: Required<SendDedupeOptions>;

  /**
   * The database layer, batched: every new message misses kv and asks the
   * database, so the lookups of concurrent sends go out as one query per
   * tick (DataLoader, no caching of its own) instead of one query each.
   */
  readonly #stored: DataLoader<SendId, BodyRow | null>;

  constructor(opts: SendDedupeOptions) {
    this.#opts = { claimTtlMs: 10_000, takeoverMs: 2_000, waitMs: 4_000, pollMs: 20, ...opts };
    this.#stored = new DataLoader((ids) => this.#findStored(ids), { cache: false, maxBatchSize: 256 });
  }

  /**
   * Two reads by primary key: the ids' keys (im_message_id), then those bodies (im_message_body,
   * partitioned by key, so each key reads one partition). An id whose body retention already
   * deleted counts as none.
   */
  async #findStored(ids: readonly SendId[]): Promise<Array<BodyRow | null>> {
    const db = await this.#opts.db();
    const keys = await db.messageIdempotency.findMany({
      where: { OR: ids.map(({ appId, fromId, messageId }) => ({ appId, fromId, messageId })) },
      select: { messageKey: true },
    });
    const rows =
      keys.length === 0
        ? []
        : await db.messageBody.findMany({ where: { messageKey: { in: keys.map((k) => k.messageKey) } } });
    const byId = new Map(rows.map((r) => [SendDedupe.key(r.appId, r.fromId, r.messageId), r]));
    return ids.map((id) => byId.get(SendDedupe.key(id.appId, id.fromId, id.messageId)) ?? null);
  }

  /** The kv key of one send. */
  static key(appId: number, fromId: string, messageId: string): string {
    return `${appId}:cacheMessage:${fromId.length}:${fromId}:${messageId}`;
  }

  /**
   * The message already accepted under this id, or null when there is none.
   * Waits while another call holds the claim.
   * @throws ImError 90000 when the claim is still pending after `waitMs` (the client retries)
   */
  async find(appId: number, fromId: string, messageId: string, messageTime = 0): Promise<KnownSend | null> {
    const key = SendDedupe.key(appId, fromId, messageId);
    const deadline = Date.now() + this.#opts.waitMs;
    let epoch: string | null;
    for (;;) {
      const [value, epochValue] = await this.#opts.kv.mget([key, KV_EPOCH_KEY]);
      epoch = epochValue ?? null;
      const entry = parse(value ?? null);
      if (entry?.s === "accepted") return { state: "accepted", message: entry.m };
      if (entry?.s === "unconfirmed") return { state: "unconfirmed", message: entry.m };
      if (entry?.s !== "pending") break;
      if (entry.m !== undefined && Date.now() - (entry.at ?? 0) >= this.#opts.takeoverMs) {
        // Its holder died between kv and the bus (issue 15: a hole in the conversation until
        // settled), or is slow. Publishing it again is safe either way: the same job under the
        // same key and sequence, which the store writes once; a slow holder's own publish then
        // costs one duplicate job and one duplicate push, which devices drop by messageKey.
        return { state: "unconfirmed", message: entry.m };
      }
      if (Date.now() >= deadline)
        throw ImError.of("SYSTEM_ERROR", "a send with this message_id is in progress");
      await new Promise((resolve) => setTimeout(resolve, this.#opts.pollMs));
    }
    if (await this.#kvIsComplete(epoch, messageTime)) {
      this.kvAnswers++;
      return null;
    }
    this.databaseAnswers++;
    const row = await this.#stored.load({ appId, fromId, messageId });
    if (row === null) return null;
    const message = fromBodyRow(row);
    await this.remember(message);
    return { state: "accepted", message };
  }

  /** How many new sends kv alone answered, and how many asked the database (tests, metrics). */
  kvAnswers = 0;
  databaseAnswers = 0;

  /** Whether kv holds every acceptance that a send with this messageTime could repeat (see above). */
  async #kvIsComplete(epoch: string | null, messageTime: number): Promise<boolean> {
    const now = Date.now();
    let since = Number(epoch);
    if (epoch === null || !Number.isSafeInteger(since)) {
      // kv is new or was wiped: it starts holding records now (a racing caller may have set it first).
      await createKvEpoch(this.#opts.kv, now);
      since = now;
    }
    if (messageTime <= 0) return false;
    const from = Math.max(since, now - this.#opts.ttlMs) + RECENT_MARGIN_MS;
    return messageTime >= from && messageTime <= now + CLOCK_AHEAD_MS;
  }

  /**
   * Claims the id for a call about to accept `draft` and takes the next count of its
   * conversation's sequence counter `counter`, in one kv round trip (kv.claimAndCount). When the
   * count is above `base` (a counter kv holds, sequence-allocator.ts) the claim already records
   * the message with its sequence, `count − base`, as {@link assign} would: nothing is left to
   * write before the publish. At or below it the claim is bare, and the caller assigns once the
   * allocator repaired the counter. Null when another call holds or has the id: then nothing was
   * counted, so a retry of a message in flight leaves no gap in its conversation.
   */
  claimNext(
    draft: Omit<ChatMessage, "messageSequence">,
    counter: string,
    base: number,
  ): Promise<number | null> {
    // The record as assign() writes it, the sequence cut out: `{"s":"pending","at":…,"m":{…,"messageSequence":` + n + `}}`.
    const at = Date.now();
    const message = JSON.stringify(draft);
    const prefix = `{"s":"pending","at":${at},"m":${message.slice(0, -1)},"messageSequence":`;
    return this.#opts.kv.claimAndCount(SendDedupe.key(draft.appId, draft.fromId, draft.messageId), counter, {
      claim: JSON.stringify({ s: "pending" } satisfies Entry),
      claimTtlMs: this.#opts.claimTtlMs,
      above: base,
      prefix,
      suffix: "}}",
      ttlMs: this.#opts.ttlMs,
    });
  }

  /**
   * Records the message the claim's holder is about to publish (key and
   * sequence given), BEFORE the publish: every message that may reach the bus
   * is in kv first, which lets kv alone answer "new" (see above) and lets a
   * retry finish the send of a holder that died mid-publish.
   */
  async assign(message: ChatMessage): Promise<void> {
    await this.#write(message, { s: "pending", m: message, at: Date.now() });
  }

  /** Records that the message's job publish failed: the next retry publishes it again. */
  async unconfirm(message: ChatMessage): Promise<void> {
    await this.#write(message, { s: "unconfirmed", m: message });
  }

  async #write(message: ChatMessage, entry: Entry): Promise<void> {
    await this.#opts.kv.set(
      SendDedupe.key(message.appId, message.fromId, message.messageId),
      JSON.stringify(entry),
      {
        ttlMs: this.#opts.ttlMs,
      },
    );
  }

  /** Records the accepted message (replacing the claim) for `ttlMs`. */
  async remember(message: ChatMessage): Promise<void> {
    await this.#write(message, { s: "accepted", m: message });
  }

  /** Drops a claim or a remembered message (a failed send, a recall). */
  async forget(appId: number, fromId: string, messageId: string): Promise<void> {
    await this.#opts.kv.del(SendDedupe.key(appId, fromId, messageId));
  }
}

function parse(value: string | null): Entry | null {
  if (value === null) return null;
  try {
    const entry = JSON.parse(value) as { s?: unknown; m?: unknown; at?: unknown };
    const m = typeof entry.m === "object" && entry.m !== null ? (entry.m as ChatMessage) : undefined;
    if (entry.s === "pending") {
      return m === undefined || typeof entry.at !== "number"
        ? { s: "pending" }
        : { s: "pending", m, at: entry.at };
    }
    if ((entry.s === "accepted" || entry.s === "unconfirmed") && m !== undefined) return { s: entry.s, m };
  } catch {
    // a corrupt entry counts as none: the database decides
  }
  return null;
}
