import DataLoader from "dataloader";
import type { MessageBody as BodyRow } from "../../../gen/prisma/client.js";
import { ImError } from "../../../lib/errors/index.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { type ChatMessage, fromBodyRow } from "./chat-message.js";

/**
 * Idempotent sends by `(appId, fromId, messageId)` (DESIGN.md §4 "No
 * duplicates", fixes D28): a retry gets the first answer (same messageKey
 * and messageSequence) and nothing is stored twice.
 *
 * Two layers:
 * - kv, key `{appId}:cacheMessage:{fromId.length}:{fromId}:{messageId}`
 *   (the original's key plus the sender, whose id space messageIds live in;
 *   the length keeps `a:b`+`c` apart from `a`+`b:c`): `pending` while a
 *   call is accepting the message (a `set ifAbsent` claim, so two identical
 *   sends racing accept it once), then the accepted message for `ttlMs`;
 * - the database's unique key on im_message_body (app_id, from_id,
 *   message_id), which answers retries after the cache expired or kv lost
 *   its data.
 * Residual window: kv lost AND the retry arrives before the store wrote the
 * first copy (it writes within milliseconds; the SDK retries after seconds).
 * The store then keeps the first message and drops the second
 * (store_job.proto), so storage stays single; only that retry's ACK names a
 * key that was not kept.
 */

type Entry = { s: "pending" } | { s: "accepted"; m: ChatMessage };

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
    this.#opts = { claimTtlMs: 10_000, waitMs: 4_000, pollMs: 20, ...opts };
    this.#stored = new DataLoader((ids) => this.#findStored(ids), { cache: false, maxBatchSize: 256 });
  }

  async #findStored(ids: readonly SendId[]): Promise<Array<BodyRow | null>> {
    const db = await this.#opts.db();
    const rows = await db.messageBody.findMany({
      where: { OR: ids.map(({ appId, fromId, messageId }) => ({ appId, fromId, messageId })) },
    });
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
  async find(appId: number, fromId: string, messageId: string): Promise<ChatMessage | null> {
    const key = SendDedupe.key(appId, fromId, messageId);
    const deadline = Date.now() + this.#opts.waitMs;
    for (;;) {
      const entry = parse(await this.#opts.kv.get(key));
      if (entry?.s === "accepted") return entry.m;
      if (entry?.s !== "pending") break;
      if (Date.now() >= deadline)
        throw ImError.of("SYSTEM_ERROR", "a send with this message_id is in progress");
      await new Promise((resolve) => setTimeout(resolve, this.#opts.pollMs));
    }
    const row = await this.#stored.load({ appId, fromId, messageId });
    if (row === null) return null;
    const message = fromBodyRow(row);
    await this.remember(message);
    return message;
  }

  /** Claims the id for a call about to accept it; false when another call holds or has it. */
  claim(appId: number, fromId: string, messageId: string): Promise<boolean> {
    const value = JSON.stringify({ s: "pending" } satisfies Entry);
    return this.#opts.kv.set(SendDedupe.key(appId, fromId, messageId), value, {
      ifAbsent: true,
      ttlMs: this.#opts.claimTtlMs,
    });
  }

  /** Records the accepted message (replacing the claim) for `ttlMs`. */
  async remember(message: ChatMessage): Promise<void> {
    const value = JSON.stringify({ s: "accepted", m: message } satisfies Entry);
    await this.#opts.kv.set(SendDedupe.key(message.appId, message.fromId, message.messageId), value, {
      ttlMs: this.#opts.ttlMs,
    });
  }

  /** Drops a claim or a remembered message (a failed send, a recall). */
  async forget(appId: number, fromId: string, messageId: string): Promise<void> {
    await this.#opts.kv.del(SendDedupe.key(appId, fromId, messageId));
  }
}

function parse(value: string | null): Entry | null {
  if (value === null) return null;
  try {
    const entry = JSON.parse(value) as Partial<Entry>;
    if (entry.s === "pending") return { s: "pending" };
    if (entry.s === "accepted" && typeof entry.m === "object" && entry.m !== null) return entry as Entry;
  } catch {
    // a corrupt entry counts as none: the database decides
  }
  return null;
}
