import DataLoader from "dataloader";
import type { Logger } from "pino";
import { isImError } from "../../../lib/errors/index.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import type { Pusher } from "../../../lib/push/pusher.js";
import {
  decodeReceiptEntry,
  encodeReceiptEntry,
  encodeVerdict,
  groupReceiptKey,
  p2pReceiptKey,
  pairVerdictKey,
  RECEIPT_INDEX_TTL_MS,
  RECEIPT_VERDICT_TTL_MS,
  verdictOrder,
} from "../../../lib/push/receipt-index.js";
import { checkReceiveAck, type ReceiveAckInput, relayReceiveAck } from "../../../lib/push/receive-ack.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { ChatMessage } from "./chat-message.js";
import { checkP2PRelationship, type P2PCheckFlags, type P2PSendRows } from "./send-checks.js";

/**
 * Who may send whom a receipt (issue 13). A receive-ACK (1107) and a read
 * receipt (1054 / 2054) tell their target something about the acting user;
 * the original relayed them to anyone, for any message key. Now:
 * - 1107 from R to S is relayed only for a message that exists, sent by S
 *   to R, with the key and sequence the ACK names; 1106 pushes S a read
 *   receipt only when a P2P message between R and S has the marked sequence;
 *   2106 pushes S a group read receipt only when S sent the group message
 *   with the marked sequence (the reader's membership is checked by
 *   mark-read.ts);
 * - P2P receipts also follow the relationship rules of sends
 *   (send-checks.ts checkP2PRelationship: both users exist, friendship both
 *   ways with `messaging.checkFriendship`, no blacklist either way with
 *   `messaging.checkBlacklist`), evaluated when the receipt comes, so a
 *   block stops the receipts of older messages too. Group receipts follow the
 *   group rules (membership), not the P2P ones, as group sends do.
 *
 * A refused receipt is DROPPED, silently: nothing is pushed and the caller
 * gets no error. A 1107 is fire-and-forget on the wire (no answer frame), and
 * an error frame would only tell a probing client which message keys exist
 * and who blocked it; a read mark still moves the reader's own cursor and
 * tells the reader's devices (1053 / 2053). Malformed input (no to_id) is
 * still refused with 90001.
 *
 * Cost: a message's existence is read from the receipt index in kv
 * (lib/push/receipt-index.ts, written by {@link Receipts.record} when the
 * message is accepted), and only when kv has no entry from the database,
 * the lookups of one event-loop turn in one query. The relationship rows
 * come from `rows` (the send path's cache, send-permissions.ts). Each
 * verdict is written to kv under both users' change tokens, so the gateway
 * relays later 1107s of the pair itself from one MGET (receive-ack.ts).
 */

/** What a refused or relayed receipt came to (tests, logs). */
export type ReceiptOutcome = "relayed" | "unknown-message" | "not-allowed";

/** The parts of a read mark a read receipt is checked on (mark-read.ts ReadMark). */
export interface ReadReceiptMark {
  appId: number;
  /** The reader. */
  fromId: string;
  /** Who gets the receipt. */
  toId: string;
  groupId: string;
  conversationType: number;
  messageSequence: number;
}

/** Decides whether a read mark's receipt may be pushed (mark-read.ts). */
export interface ReadReceiptRule {
  allows(mark: ReadReceiptMark): Promise<boolean>;
}

/** What {@link Receipts} needs. */
export interface ReceiptsOptions {
  kv: KvStore;
  db(): Promise<Database>;
  changes: ChangeTokens;
  /** The P2P check rows of `fromId` → `toId` (send-permissions.ts, or loadP2PSendRows uncached). */
  rows(appId: number, fromId: string, toId: string): Promise<P2PSendRows>;
  flags: P2PCheckFlags;
  pusher: Pusher;
  log: Logger;
  /**
   * Whether verdicts are written to kv for the gateway (the messaging core's
   * instance: its rows and flags are the send path's). Default true.
   */
  recordVerdicts?: boolean;
}

/** One P2P message a 1107 names: from `fromId` to `toId`. */
interface P2PRef {
  appId: number;
  fromId: string;
  toId: string;
  messageKey: number;
  messageSequence: number;
}

/** The receipt rules of the domain (see the file comment). */
export class Receipts implements ReadReceiptRule {
  readonly #opts: ReceiptsOptions;
  /** Database lookups of 1107s kv could not answer, one query per event-loop turn. */
  readonly #stored: DataLoader<P2PRef, boolean>;

  constructor(opts: ReceiptsOptions) {
    this.#opts = opts;
    this.#stored = new DataLoader((refs) => this.#findStored(refs), {
      cache: false,
      maxBatchSize: 256,
    });
  }

  /**
   * Indexes an accepted message (the send pipeline calls it with the dedupe
   * record, before the persistence job is published, so the entry exists
   * before any device can acknowledge the message). Never rejects: without
   * the entry a receipt is checked against the database instead.
   */
  async record(m: ChatMessage): Promise<void> {
    const key =
      m.conversationType === GROUP
        ? groupReceiptKey(m.appId, m.toId, m.messageSequence)
        : p2pReceiptKey(m.appId, m.fromId, m.toId, m.messageSequence);
    try {
      await this.#opts.kv.set(key, encodeReceiptEntry({ messageKey: m.messageKey, fromId: m.fromId }), {
        ttlMs: RECEIPT_INDEX_TTL_MS,
      });
    } catch (error) {
      this.#opts.log.warn({ err: error, messageKey: m.messageKey }, "receipt index not written");
    }
  }

  /**
   * A receiver's 1107: relays it (lib/push/receive-ack.ts) when the message
   * is one `toId` sent to the receiver and the pair's rules allow it; drops
   * it otherwise.
   * @throws ImError 90001 without to_id
   */
  async receiveAck(input: ReceiveAckInput): Promise<ReceiptOutcome> {
    checkReceiveAck(input);
    const ref = {
      appId: input.appId,
      fromId: input.toId,
      toId: input.receiverId,
      messageKey: input.messageKey,
      messageSequence: input.messageSequence,
    };
    let outcome: ReceiptOutcome = "relayed";
    if (!(await this.#p2pMessageExists(ref))) outcome = "unknown-message";
    else if (!(await this.#pairAllows(input.appId, input.receiverId, input.toId))) outcome = "not-allowed";
    if (outcome === "relayed") await relayReceiveAck(this.#opts.pusher, input);
    else this.#opts.log.debug({ receiverId: input.receiverId, toId: input.toId, outcome }, "1107 dropped");
    return outcome;
  }

  /** Whether a read mark's receipt may go to `mark.toId` (callers skip marks without one). */
  async allows(mark: ReadReceiptMark): Promise<boolean> {
    const { appId, fromId, toId, messageSequence } = mark;
    if (!Number.isSafeInteger(messageSequence) || messageSequence <= 0) return false;
    if (mark.conversationType === GROUP) {
      return this.#groupMessageFrom(appId, mark.groupId, messageSequence, toId);
    }
    if (!(await this.#p2pSequenceExists(appId, fromId, toId, messageSequence))) return false;
    return this.#pairAllows(appId, fromId, toId);
  }

  /** The 1107's message, from kv's index, else the database. */
  async #p2pMessageExists(ref: P2PRef): Promise<boolean> {
    if (!(Number.isSafeInteger(ref.messageKey) && ref.messageKey > 0)) return false;
    if (!(Number.isSafeInteger(ref.messageSequence) && ref.messageSequence > 0)) return false;
    const entry = decodeReceiptEntry(
      await this.#opts.kv.get(p2pReceiptKey(ref.appId, ref.fromId, ref.toId, ref.messageSequence)),
    );
    if (entry !== undefined) return entry.messageKey === ref.messageKey && entry.fromId === ref.fromId;
    return this.#stored.load(ref);
  }

  async #findStored(refs: readonly P2PRef[]): Promise<boolean[]> {
    const db = await this.#opts.db();
    const rows = await db.messageBody.findMany({
      where: { messageKey: { in: [...new Set(refs.map((r) => BigInt(r.messageKey)))] } },
      select: {
        messageKey: true,
        appId: true,
        conversationType: true,
        fromId: true,
        toId: true,
        messageSequence: true,
      },
    });
    const byKey = new Map(rows.map((r) => [Number(r.messageKey), r]));
    return refs.map((ref) => {
      const row = byKey.get(ref.messageKey);
      return (
        row !== undefined &&
        row.appId === ref.appId &&
        row.conversationType !== GROUP &&
        row.fromId === ref.fromId &&
        row.toId === ref.toId &&
        Number(row.messageSequence) === ref.messageSequence
      );
    });
  }

  /** A P2P message between `a` and `b` (either direction) has `sequence`. */
  async #p2pSequenceExists(appId: number, a: string, b: string, sequence: number): Promise<boolean> {
    if ((await this.#opts.kv.get(p2pReceiptKey(appId, a, b, sequence))) !== null) return true;
    const db = await this.#opts.db();
    const row = await db.messageHistory.findFirst({
      where: { appId, ownerId: a, peerId: b, sequence: BigInt(sequence) },
      select: { messageKey: true },
    });
    return row !== null;
  }

  /** `fromId` sent the message of group `groupId` that has `sequence`. */
  async #groupMessageFrom(
    appId: number,
    groupId: string,
    sequence: number,
    fromId: string,
  ): Promise<boolean> {
    const entry = decodeReceiptEntry(await this.#opts.kv.get(groupReceiptKey(appId, groupId, sequence)));
    if (entry !== undefined) return entry.fromId === fromId;
    const db = await this.#opts.db();
    const row = await db.groupMessageHistory.findFirst({
      where: { appId, groupId, sequence: BigInt(sequence) },
      select: { fromId: true },
    });
    return row?.fromId === fromId;
  }

  /**
   * The P2P rules between the acting user and the receipt's target. The
   * change tokens are read BEFORE the rows (change-tokens.ts), so a verdict
   * written under them is never newer than the rows it was computed from.
   */
  async #pairAllows(appId: number, actor: string, target: string): Promise<boolean> {
    if (actor === target) return true;
    const [a, b] = verdictOrder(actor, target);
    const tokens = await this.#opts.changes.read([ChangeTokens.user(appId, a), ChangeTokens.user(appId, b)]);
    const rows = await this.#opts.rows(appId, actor, target);
    let ok = true;
    try {
      checkP2PRelationship(rows, actor, target, this.#opts.flags);
    } catch (error) {
      if (!isImError(error)) throw error;
      ok = false;
    }
    if (this.#opts.recordVerdicts !== false) {
      const verdict = encodeVerdict({ tokens: [tokens[0] ?? "", tokens[1] ?? ""], ok });
      await this.#opts.kv
        .set(pairVerdictKey(appId, actor, target), verdict, { ttlMs: RECEIPT_VERDICT_TTL_MS })
        .catch((error: unknown) => this.#opts.log.warn({ err: error }, "receipt verdict not written"));
    }
    return ok;
  }
}
