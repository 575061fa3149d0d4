import type { ChatServiceService, SessionContext } from "../../../gen/ts/whaleshark/v1/chat_service.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { ClientType } from "../../../gen/ts/whaleshark/v1/enums.js";
import { ErrorCatalogue, ImError } from "../../../lib/errors/index.js";
import { errorCodeOf, toServiceError } from "../../../lib/grpc/errors.js";
import type { InternalContext, InternalHandlers } from "../../../lib/grpc/serve.js";
import { checksOwnText, checkText } from "../../../lib/grpc/text-check.js";
import { traceDomainSend } from "../../../lib/tracing/index.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";
import type { Messaging } from "./messaging.js";
import type { SendInput } from "./send-pipeline.js";

/** Most items of one ChatService.SendMessages call (chat_service.proto). */
export const MAX_SEND_BATCH = 1_000;

/**
 * ChatService (chat_service.proto): the calls a gateway makes for a
 * logged-in device. The sender, app and device always come from the
 * SessionContext, never from the body (fixes D26); mounted behind the
 * internal credentials check (services.ts, lib/grpc/auth.ts).
 */

/** The trusted caller of a chat call. @throws ImError 90001 without a usable session */
function caller(session: SessionContext | undefined): {
  appId: number;
  userId: string;
  device: SenderDevice;
} {
  if (session === undefined || session.appId <= 0 || session.userId.trim() === "") {
    throw ImError.of("PARAMETER_ERROR", "session is required");
  }
  // A ClientType value (the gateway refuses others at LOGIN); `ClientType[-1]` is ts-proto's UNRECOGNIZED.
  if (session.clientType < 0 || ClientType[session.clientType] === undefined) {
    throw ImError.of("PARAMETER_ERROR", "session.client_type is not a ClientType");
  }
  return {
    appId: session.appId,
    userId: session.userId,
    device: { clientType: session.clientType, imei: session.imei },
  };
}

/** A 1103 / 2104 body as a send of the session's user. */
function sendInput(
  s: ReturnType<typeof caller>,
  conversationType: SendInput["conversationType"],
  c: { messageId: string; messageBody: string; messageTime: number; extra: string } | undefined,
  toId: string,
): SendInput {
  return {
    conversationType,
    appId: s.appId,
    fromId: s.userId,
    toId,
    messageId: c?.messageId ?? "",
    messageBody: c?.messageBody ?? "",
    messageTime: c?.messageTime ?? 0,
    extra: c?.extra ?? "",
    device: s.device,
  };
}

/** What a single send call would have answered, as one result of a batch. */
function sendResult(
  outcome: PromiseSettledResult<{ messageId: string; messageKey: number; messageSequence: number }>,
) {
  if (outcome.status === "fulfilled") {
    const m = outcome.value;
    return {
      code: 0,
      msg: "",
      data: { messageId: m.messageId, messageKey: m.messageKey, messageSequence: m.messageSequence },
    };
  }
  // The translation a single call's error gets (lib/grpc/errors.ts): an unexpected error's own
  // text stays in the logs, the client gets the catalogue's.
  const error = toServiceError(outcome.reason);
  return {
    code: errorCodeOf(error) ?? ErrorCatalogue.SYSTEM_ERROR.code,
    msg: error.details ?? "",
    data: undefined,
  };
}

/**
 * Sends `input` under its `domain.send` span when the call came traced (item `index` of a batch,
 * else the call's own context; docs/tracing.md); as it is otherwise.
 */
function traced(
  messaging: Messaging,
  input: SendInput,
  ctx: InternalContext,
  index?: number,
): Promise<ChatMessage> {
  if (ctx.trace === undefined) return messaging.send(input);
  const command = input.conversationType === GROUP ? Command.COMMAND_MSG_GROUP : Command.COMMAND_MSG_P2P;
  return traceDomainSend(ctx.trace, index, command, input.appId, () => messaging.send(input));
}

type ChatHandlers = InternalHandlers<typeof ChatServiceService>;
type SendMessagesHandler = NonNullable<ChatHandlers["sendMessages"]>;

/** The ChatService handlers over `messaging`. */
export function chatServiceHandlers(messaging: Messaging): ChatHandlers {
  return {
    async sendP2PMessage(req, ctx) {
      const c = req.content;
      const m = await traced(messaging, sendInput(caller(req.session), 0, c, c?.toId ?? ""), ctx);
      return {
        data: { messageId: m.messageId, messageKey: m.messageKey, messageSequence: m.messageSequence },
      };
    },

    async sendGroupMessage(req, ctx) {
      const c = req.content;
      const m = await traced(messaging, sendInput(caller(req.session), GROUP, c, c?.groupId ?? ""), ctx);
      // The sequence and key in 2047 are a WhaleShark extension (the original sent messageId only).
      return {
        data: { messageId: m.messageId, messageKey: m.messageKey, messageSequence: m.messageSequence },
      };
    },

    // Checks each item's text itself (instead of the edge's whole-request check, lib/grpc/serve.ts),
    // so a bad item gets its own 90001 and the others are sent.
    sendMessages: checksOwnText<SendMessagesHandler>(async (req, ctx) => {
      if (req.items.length === 0 || req.items.length > MAX_SEND_BATCH) {
        throw ImError.of("PARAMETER_ERROR", `a batch holds 1 to ${MAX_SEND_BATCH} items`);
      }
      // Every send starts before the first await, in item order: that is the arrival order the
      // pipeline sequences a conversation's sends in (arrival-order.ts).
      const sends = req.items.map((item, index) => {
        try {
          checkText(item);
          const s = caller(item.session);
          if (item.p2p !== undefined)
            return traced(messaging, sendInput(s, 0, item.p2p, item.p2p.toId), ctx, index);
          if (item.group !== undefined) {
            return traced(messaging, sendInput(s, GROUP, item.group, item.group.groupId), ctx, index);
          }
          throw ImError.of("PARAMETER_ERROR", "content is required");
        } catch (error) {
          return Promise.reject(error);
        }
      });
      return { results: (await Promise.allSettled(sends)).map(sendResult) };
    }),

    // Relayed, or dropped without an error when it names no message the sender sent this user or
    // crosses a block (receipts.ts); 90001 without to_id. The answer is {} either way.
    async receiveAck(req) {
      const s = caller(req.session);
      await messaging.receiveAck({
        appId: s.appId,
        receiverId: s.userId,
        device: s.device,
        toId: req.content?.toId ?? "",
        messageKey: req.content?.messageKey ?? 0,
        messageSequence: req.content?.messageSequence ?? 0,
      });
      return {};
    },

    async markRead(req) {
      const s = caller(req.session);
      const c = req.content;
      await messaging.markRead(
        {
          appId: s.appId,
          fromId: s.userId,
          conversationType: c?.conversationType ?? P2P,
          toId: c?.toId ?? "",
          groupId: c?.groupId ?? "",
          messageSequence: c?.messageSequence ?? 0,
        },
        s.device,
      );
      return {};
    },

    async recallMessage(req) {
      const s = caller(req.session);
      const c = req.content;
      const data = await messaging.recall({
        appId: s.appId,
        operator: s.userId,
        isAdmin: () => messaging.isAppAdmin(s.appId, s.userId),
        device: s.device,
        // The body's fromId is the session's user (the gateway overwrote it); the sender named
        // by the message itself decides who may recall it.
        fromId: "",
        toId: c?.toId ?? "",
        messageKey: c?.messageKey ?? 0,
      });
      return { data };
    },

    // Messaging keeps no per-device state to drop (routes are read from the session store).
    async sessionClosed(req) {
      caller(req.session);
      return {};
    },
  };
}
