import { ImError, isImError } from "../../../lib/errors/index.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import type { Callbacks } from "../callbacks/callbacks.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";
import { checkSendFields } from "./send-checks.js";
import type { SendInput } from "./send-pipeline.js";

/**
 * The message callbacks (spec §7; the original declared them and never fired them, D8), for P2P
 * and group sends from devices and from the API alike:
 *
 * - `message.send.before`, for a new message after the send checks passed and before it gets its
 *   key and sequence: the app server may refuse it (its ResponseVO code and msg reach the sender
 *   as the send's error) or rewrite it, moderation: a reply `data` object with a string
 *   `messageBody` and/or `extra` replaces those fields, checked by the same rules as the sender's
 *   (a replacement the store could not keep refuses the send with 90001 naming the callback).
 *   Any other `data` leaves the message as sent. A retry of a message already accepted is
 *   answered from its first acceptance and calls nothing. The callbacks of one conversation run
 *   side by side; its messages are still sequenced in the order they arrived.
 * - `message.send.after`, once the message is durable, with its messageKey and messageSequence,
 *   in the background (callbacks.ts: retries, a bound on pending calls). A retry that finishes a
 *   send another domain process was still publishing (send-dedupe.ts) may fire it a second time
 *   with the same key; app servers deduplicate by messageKey.
 *
 * The body is the original's MessageContent JSON (appId, clientType, imei, fromId, toId or
 * groupId, messageId, messageBody, messageTime, extra) with `conversationType` (0 P2P, 1 group).
 */
export class MessageCallbacks {
  readonly #callbacks: Pick<Callbacks, "before" | "after" | "enabled">;

  constructor(callbacks: Pick<Callbacks, "before" | "after" | "enabled">) {
    this.#callbacks = callbacks;
  }

  /**
   * The message to accept: `input` as sent, or with the app server's replacement fields.
   * @throws ImError with the app server's code when it refuses; 71000 when it fails and
   *   `callbacks.beforeFailure` is closed; 90001 for a replacement the store could not keep
   */
  async before(input: SendInput): Promise<SendInput> {
    if (!this.#callbacks.enabled("message.send.before")) return input;
    const data = await this.#callbacks.before(
      input.appId,
      "message.send.before",
      bodyOf(input, input.device),
    );
    if (typeof data !== "object" || data === null) return input;
    const { messageBody, extra } = data as Record<string, unknown>;
    const replaced = {
      ...input,
      messageBody: typeof messageBody === "string" ? messageBody : input.messageBody,
      extra: typeof extra === "string" ? extra : input.extra,
    };
    try {
      checkSendFields(replaced);
    } catch (error) {
      if (!isImError(error)) throw error;
      throw ImError.of("PARAMETER_ERROR", `the message.send.before callback's replacement: ${error.message}`);
    }
    return replaced;
  }

  /** Schedules `message.send.after` for an accepted message; never throws, never waits. */
  after(message: ChatMessage, device: SenderDevice): void {
    if (!this.#callbacks.enabled("message.send.after")) return;
    this.#callbacks.after(message.appId, "message.send.after", {
      ...bodyOf(message, device),
      messageKey: message.messageKey,
      messageSequence: message.messageSequence,
    });
  }
}

type MessageFields = Pick<
  ChatMessage,
  "conversationType" | "appId" | "fromId" | "toId" | "messageId" | "messageBody" | "messageTime" | "extra"
>;

function bodyOf(m: MessageFields, device: SenderDevice): Record<string, unknown> {
  const target = m.conversationType === P2P ? { toId: m.toId } : { groupId: m.toId };
  return {
    conversationType: m.conversationType,
    appId: m.appId,
    clientType: device.clientType,
    imei: device.imei,
    fromId: m.fromId,
    ...target,
    messageId: m.messageId,
    messageBody: m.messageBody,
    messageTime: m.messageTime,
    extra: m.extra,
  };
}
