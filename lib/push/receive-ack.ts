import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { MessageReceiveAckContent } from "../../gen/ts/whaleshark/v1/message.js";
import { userChangeTokenKey } from "../change-tokens/change-token-keys.js";
import { ImError } from "../errors/index.js";
import type { KvStore } from "../ports/kv.js";
import { ALL, exceptCaller, type Pusher } from "./pusher.js";
import {
  decodeReceiptEntry,
  decodeVerdict,
  p2pReceiptKey,
  pairVerdictKey,
  verdictOrder,
} from "./receipt-index.js";

/** The device a receive ACK came from. */
type SenderDevice = { clientType: number; imei: string };

/** A receiver's 1107 for one message. */
export interface ReceiveAckInput {
  appId: number;
  /** The receiver (the session's user), who acknowledges. */
  receiverId: string;
  /** The receiver's device, from the session (only to spare it its own ACK in self-chat). */
  device: SenderDevice;
  /** The original sender, to be told. */
  toId: string;
  messageKey: number;
  messageSequence: number;
}

/** @throws ImError 90001 without to_id: a malformed 1107 is refused, not dropped */
export function checkReceiveAck(input: ReceiveAckInput): void {
  if (input.toId.trim() === "") throw ImError.of("PARAMETER_ERROR", "to_id is required");
}

/**
 * Relays a receiver's MSG_RECEIVE_ACK 1107 to every online device of the
 * original sender (spec §5.3 step 4), with `serverSend: false` and the
 * receiver's app and id taken from the session (spec §5.5). The receiver's
 * device (`clientType`, `imei`) is NOT in the push (issue 13: the original
 * put it there, telling anyone one sent a message to which devices one
 * uses; the sender needs only "delivered to the user"). An ACK for oneself
 * (self-chat) goes to one's other devices. A sender without online devices is
 * no error (D29: the original threw on a missing session). Callers check
 * first that the receipt may be relayed ({@link ReceiveAckGate}, the domain's
 * receipts.ts).
 * @throws ImError 90001 without to_id
 */
export async function relayReceiveAck(pusher: Pusher, input: ReceiveAckInput): Promise<void> {
  checkReceiveAck(input);
  const data = MessageReceiveAckContent.toJSON({
    appId: input.appId,
    fromId: input.receiverId,
    toId: input.toId,
    messageKey: input.messageKey,
    messageSequence: input.messageSequence,
    serverSend: false,
  });
  const target = input.toId === input.receiverId ? exceptCaller(input.device) : ALL;
  await pusher.push(input.appId, input.toId, Command.COMMAND_MSG_RECEIVE_ACK, data, target);
}

/**
 * What the gateway does with a 1107 (receipt-index.ts): `relay` it itself,
 * `drop` it silently, or `ask-domain` (ChatService.ReceiveAck, which checks
 * against the database and answers the same rule).
 */
export type ReceiveAckDecision = "relay" | "drop" | "ask-domain";

/**
 * The gateway's check of a 1107, from kv alone: one MGET of the message's
 * receipt index entry, the pair's verdict and both users' change tokens.
 * - The entry exists but is another message, or a message of another
 *   sender: `drop` (sequences are never reused, so nothing else can be it).
 * - The entry is this message from `toId` to the receiver, and the verdict
 *   was computed under both users' current tokens: `relay` when it allows,
 *   else `drop`. Self-chat needs no verdict.
 * - No entry (older than the index keeps, or kv lost it) or no current
 *   verdict: `ask-domain`.
 */
export class ReceiveAckGate {
  readonly #kv: KvStore;

  constructor(kv: KvStore) {
    this.#kv = kv;
  }

  async decide(input: ReceiveAckInput): Promise<ReceiveAckDecision> {
    const { appId, receiverId, toId, messageKey, messageSequence } = input;
    if (!(Number.isSafeInteger(messageKey) && messageKey > 0 && Number.isSafeInteger(messageSequence))) {
      return "drop";
    }
    if (messageSequence <= 0) return "drop";
    const [a, b] = verdictOrder(receiverId, toId);
    const [entryValue, verdictValue, tokenA, tokenB] = await this.#kv.mget([
      p2pReceiptKey(appId, receiverId, toId, messageSequence),
      pairVerdictKey(appId, receiverId, toId),
      userChangeTokenKey(appId, a),
      userChangeTokenKey(appId, b),
    ]);
    const entry = decodeReceiptEntry(entryValue);
    if (entry === undefined) return "ask-domain";
    if (entry.messageKey !== messageKey || entry.fromId !== toId) return "drop";
    if (receiverId === toId) return "relay";
    const verdict = decodeVerdict(verdictValue);
    if (verdict === undefined || verdict.tokens[0] !== tokenA || verdict.tokens[1] !== tokenB) {
      return "ask-domain";
    }
    return verdict.ok ? "relay" : "drop";
  }
}
