import type { Logger } from "pino";
import { ImError } from "../../../lib/errors/index.js";
import { type ChatConversationType, P2P } from "../../../lib/wire/conversation-type.js";
import { KV_BASE, type SequenceAllocator } from "../sequence/sequence-allocator.js";
import { groupSequenceKey, p2pSequenceKey, type SequenceKey } from "../sequence/sequence-keys.js";
import { ArrivalOrder, type Turn } from "./arrival-order.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";
import type { MessageCallbacks } from "./message-callbacks.js";
import type { MessageFanOut } from "./message-fan-out.js";
import type { MessageKeys } from "./message-keys.js";
import type { LaneSlot, PushLanes } from "./push-lanes.js";
import type { Receipts } from "./receipts.js";
import {
  checkGroupSend,
  checkP2PSend,
  checkPrivateChat,
  checkSendFields,
  type P2PCheckFlags,
} from "./send-checks.js";
import type { KnownSend, SendDedupe } from "./send-dedupe.js";
import type { SendPermissions } from "./send-permissions.js";
import type { StoreJobPublisher } from "./store-jobs.js";

/** One send, from a device (ChatService) or an app server (MessageService). */
export interface SendInput {
  conversationType: ChatConversationType;
  appId: number;
  /** The sender: the session's user, or the API's checked from_id. */
  fromId: string;
  /** The receiver (P2P) or the group id (GROUP). */
  toId: string;
  messageId: string;
  messageBody: string;
  /** Client send time in epoch ms; 0 = now. */
  messageTime: number;
  extra: string;
  /** The sending device; imei "" = a back-office call without one. */
  device: SenderDevice;
}

/** What a {@link SendPipeline} is built from. */
export interface SendPipelineDeps {
  /** The rows of the permission checks, cached (send-permissions.ts). */
  permissions: SendPermissions;
  now(): number;
  flags: P2PCheckFlags;
  dedupe: SendDedupe;
  sequences: SequenceAllocator;
  keys: MessageKeys;
  jobs: StoreJobPublisher;
  fanOut: MessageFanOut;
  lanes: PushLanes;
  log: Logger;
  /** The receipt index (receipts.ts): each accepted message is indexed before it is published. */
  receipts: Pick<Receipts, "record">;
  /** `message.send.before` / `.after` (message-callbacks.ts). */
  callbacks: Pick<MessageCallbacks, "before" | "after">;
}

/**
 * The one send path of 1103, 2104 and the API sends (docs/architecture.md §2 steps
 * 2–5; D18 fixed: the API goes through it too):
 * 1. validate the fields (send-checks.ts: 90001; messageId required, D28;
 *    nothing the store would refuse, so an ACKed message is always stored);
 * 2. a known messageId answers with the first acceptance (kv, else the
 *    database; read while step 3's rows are read) and delivers it again, in
 *    the conversation's push lane (the first delivery may be what the sender
 *    is retrying for; devices drop duplicates by messageKey);
 * 3. the permission checks (send-checks.ts), then the app server's
 *    `message.send.before` callback, which may refuse or rewrite the
 *    message (message-callbacks.ts);
 * 4. wait for the conversation's earlier sends to be sequenced (sends in
 *    flight together are sequenced in the order they arrived:
 *    arrival-order.ts), then, in ONE kv operation (kv.claimAndCount), claim
 *    the messageId, so a concurrent identical send waits for this one
 *    instead of accepting the message twice, take the conversation's next
 *    count and record the message with its messageKey and sequence under
 *    the claim;
 * 5. make sure the durable sequence mark covers the sequence (sequence/),
 *    and publish the persistence job; the returned promise resolves — and
 *    the caller ACKs — only after the bus holds the job;
 * 6. remember the acceptance and index it for receipts (one kv batch), then
 *    deliver in the background (push-lanes) and schedule `message.send.after`.
 * So a new message costs three kv round trips, each shared by every send of
 * the same event-loop turn (tick-batch.ts): the lookup with the permission
 * tokens, the claim, the acceptance. A failure before the publish releases
 * the claim: the retry starts over. After it, the message keeps its key and
 * sequence: a retry finds it `unconfirmed` (the publish failed, or its
 * holder died: send-dedupe.ts) and
 * publishes the same job again, so a send is never accepted under two keys.
 */
export class SendPipeline {
  readonly #deps: SendPipelineDeps;
  readonly #order = new ArrivalOrder();
  /** Sends in progress in this process by (appId, fromId, messageId): a concurrent copy joins. */
  readonly #inProgress = new Map<string, Promise<ChatMessage>>();

  constructor(deps: SendPipelineDeps) {
    this.#deps = deps;
  }

  /** Accepts (or recognises) one message; resolves with its key and sequence once durable. */
  async send(input: SendInput): Promise<ChatMessage> {
    checkSendFields(input);
    // A copy of a send this process is still working on (a resend that came through another
    // gateway call, an API retry) waits for the first one's answer instead of polling its claim.
    const id = `${input.appId}\u0000${input.fromId}\u0000${input.messageId}`;
    const first = this.#inProgress.get(id);
    if (first !== undefined) {
      const message = await first;
      if (message.conversationType !== input.conversationType || message.toId !== input.toId) {
        throw ImError.of("PARAMETER_ERROR", "message_id was already used for another conversation");
      }
      return message;
    }
    // Taken before the first await: the arrival order of concurrent sends is the call order.
    const turn = this.#order.enter(sequenceKeyOf(input).kvKey);
    const result = this.#send(input, turn).finally(() => {
      turn.leave();
      this.#inProgress.delete(id);
    });
    this.#inProgress.set(id, result);
    return result;
  }

  async #send(input: SendInput, turn: Turn): Promise<ChatMessage> {
    const { dedupe, lanes } = this.#deps;
    // The lookup and the check's rows are read at once; a known message is answered before
    // (and whatever) the check says: a retry gets its first answer even if the sender was blocked
    // since.
    const checked = this.#check(input);
    checked.catch(() => undefined); // awaited below unless the message is a retry
    const prior = await dedupe.find(input.appId, input.fromId, input.messageId, input.messageTime);
    if (prior !== null) return this.#known(prior, input);
    await checked;
    // The app server may refuse or rewrite it (message-callbacks.ts). Then the message as it will
    // be accepted but for its sequence: its key is taken now, outside the turn (the first key of
    // a process may wait for a worker lease).
    const draft = await this.#draft(await this.#deps.callbacks.before(input));
    // In the conversation's turn, and without awaiting anything in it: the claim and the sequence
    // increment are issued (one kv operation, which also records the message under its claim)
    // and the push-lane place is taken. kv runs the increments in the order they were issued, so
    // the turn only orders the issuing, and one conversation's sends do not wait for each other's
    // round trips. The claim is taken here, not earlier: a claim lives 10 s, and a send that
    // claimed and then queued behind its conversation for longer would lose it to its own resend,
    // which would accept it again.
    await turn.ready;
    const key = sequenceKeyOf(input);
    const claimed = dedupe.claimNext(draft, key.kvKey, KV_BASE);
    const slot = lanes.reserve(key.kvKey);
    turn.leave();
    let count: number | null;
    try {
      count = await claimed;
    } catch (error) {
      slot.cancel();
      throw error;
    }
    if (count !== null) return this.#accept(draft, input.device, key, count, slot);
    // Another call holds the id: it accepts the message (wait for it) or fails (claim again).
    // Nothing was counted for this copy; a claim won later is a new arrival.
    slot.cancel();
    for (let attempt = 0; ; attempt++) {
      const other = await dedupe.find(input.appId, input.fromId, input.messageId);
      if (other !== null) return this.#known(other, input);
      if (attempt >= 3) throw ImError.of("SYSTEM_ERROR", "could not claim the message_id");
      const late = await dedupe.claimNext(draft, key.kvKey, KV_BASE);
      if (late !== null) return this.#accept(draft, input.device, key, late, lanes.reserve(key.kvKey));
    }
  }

  /** The message `input` becomes, but for its sequence: a new messageKey, accepted now. */
  async #draft(input: SendInput): Promise<Omit<ChatMessage, "messageSequence">> {
    const messageKey = await this.#deps.keys.next();
    const now = this.#deps.now();
    return {
      conversationType: input.conversationType,
      appId: input.appId,
      fromId: input.fromId,
      toId: input.toId,
      messageId: input.messageId,
      messageBody: input.messageBody,
      messageTime: input.messageTime > 0 ? input.messageTime : now,
      extra: input.extra,
      messageKey,
      acceptedTime: now,
    };
  }

  /** A message met before: answer an accepted one, finish the publish of an unconfirmed one. */
  #known(known: KnownSend, input: SendInput): ChatMessage | Promise<ChatMessage> {
    const { message } = known;
    if (message.conversationType !== input.conversationType || message.toId !== input.toId) {
      throw ImError.of("PARAMETER_ERROR", "message_id was already used for another conversation");
    }
    return known.state === "accepted" ? this.#replay(message, input) : this.#publish(message, input.device);
  }

  /** The permission checks (send-checks.ts) on the cached rows (send-permissions.ts). */
  async #check(input: SendInput): Promise<void> {
    const { permissions } = this.#deps;
    if (input.conversationType === P2P) {
      const rows = await permissions.p2p(input.appId, input.fromId, input.toId);
      checkP2PSend(rows, input.fromId, input.toId, this.#deps.flags);
      await checkPrivateChat(rows, input.fromId, input.toId, this.#deps.flags, () =>
        permissions.privateChatBlock(input.appId, input.fromId, input.toId),
      );
    } else {
      const rows = await permissions.group(input.appId, input.fromId, input.toId);
      checkGroupSend(rows, input.fromId, input.toId, this.#deps.now());
    }
  }

  /**
   * Our claim holds, with `count` taken from the conversation's counter: gives the message its
   * sequence (covered by the durable mark, or counted again after a repair of a counter kv lost)
   * and publishes it. Every message that may reach the bus is in kv before (send-dedupe.ts).
   */
  async #accept(
    draft: Omit<ChatMessage, "messageSequence">,
    device: SenderDevice,
    key: SequenceKey,
    count: number,
    slot: LaneSlot,
  ): Promise<ChatMessage> {
    const { sequences, dedupe } = this.#deps;
    let message: ChatMessage;
    try {
      message = { ...draft, messageSequence: await sequences.counted(key, count) };
      // Counted again (a repaired counter, or behind a send that was: sequence-allocator.ts): the
      // claim holds no sequence or another one, so the message is recorded under it first.
      if (message.messageSequence !== count - KV_BASE) await dedupe.assign(message);
    } catch (error) {
      // Nothing can have reached the bus: release the claim, the client's retry starts over.
      slot.cancel();
      await dedupe.forget(draft.appId, draft.fromId, draft.messageId).catch(() => undefined);
      throw error;
    }
    return this.#publish(message, device, slot);
  }

  /**
   * Publishes the message's store job (the ACK waits for it), records the
   * acceptance and delivers in the conversation's push lane. A failed publish
   * leaves the message `unconfirmed` in kv: the client's retry publishes it
   * again under the same key and sequence rather than allocating new ones.
   */
  async #publish(message: ChatMessage, device: SenderDevice, reserved?: LaneSlot): Promise<ChatMessage> {
    const { jobs, lanes, dedupe, log } = this.#deps;
    const slot = reserved ?? lanes.reserve(sequenceKeyOf(message).kvKey);
    try {
      await jobs.publish(message);
    } catch (error) {
      slot.cancel();
      await dedupe.unconfirm(message).catch(() => undefined); // else a retry takes over after the claim time
      throw error;
    }
    // The receipt index entry goes with the acceptance record (one kv batch), before any device
    // can get the message from this process; it never fails the send.
    const indexed = this.#deps.receipts.record(message);
    try {
      await dedupe.remember(message);
    } catch (error) {
      // The message is durable and the ACK stands. kv must learn it (send-dedupe.ts answers
      // recent sends from kv alone), so keep trying in the background; the claim covers 10 s.
      log.warn({ err: error, messageKey: message.messageKey }, "send accepted but not cached; retrying");
      void rememberLater(dedupe, message, log);
    }
    await indexed;
    slot.run(() => this.#deps.fanOut.prepare(message, device));
    this.#deps.callbacks.after(message, device);
    return message;
  }

  /**
   * A retry of an accepted message: the same answer, delivered again unless it was recalled. The
   * new delivery queues in the conversation's lane like a new message's: it never overtakes
   * pushes of the conversation still waiting there (the first delivery of this very message, or
   * of the ones before it), so a device sees the conversation in sequence order.
   */
  #replay(prior: ChatMessage, input: SendInput): ChatMessage {
    if (prior.recalled !== true) {
      this.#deps.lanes
        .reserve(sequenceKeyOf(prior).kvKey)
        .run(() => this.#deps.fanOut.prepare(prior, input.device));
    }
    return prior;
  }
}

/** Retries writing an accepted message's dedupe record: 5 attempts, 1 s apart. */
async function rememberLater(dedupe: SendDedupe, message: ChatMessage, log: Logger): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    try {
      await dedupe.remember(message);
      return;
    } catch (error) {
      if (attempt === 5) log.error({ err: error, messageKey: message.messageKey }, "dedupe record lost");
    }
  }
}

/** The sequence counter of a message's conversation, which also names its push lane. */
function sequenceKeyOf(m: Pick<SendInput, "conversationType" | "appId" | "fromId" | "toId">) {
  return m.conversationType === P2P
    ? p2pSequenceKey(m.appId, m.fromId, m.toId)
    : groupSequenceKey(m.appId, m.toId);
}
