import type { ChatServiceService, SessionContext } from "../../../gen/ts/whaleshark/v1/chat_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { InternalHandlers } from "../../../lib/grpc/serve.js";
import { GROUP, type SenderDevice } from "./chat-message.js";
import type { Messaging } from "./messaging.js";

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
  return {
    appId: session.appId,
    userId: session.userId,
    device: { clientType: session.clientType, imei: session.imei },
  };
}

/** The ChatService handlers over `messaging`. */
export function chatServiceHandlers(messaging: Messaging): InternalHandlers<typeof ChatServiceService> {
  return {
    async sendP2PMessage(req) {
      const s = caller(req.session);
      const c = req.content;
      const m = await messaging.send({
        conversationType: 0,
        appId: s.appId,
        fromId: s.userId,
        toId: c?.toId ?? "",
        messageId: c?.messageId ?? "",
        messageBody: c?.messageBody ?? "",
        messageTime: c?.messageTime ?? 0,
        extra: c?.extra ?? "",
        device: s.device,
      });
      return {
        data: { messageId: m.messageId, messageKey: m.messageKey, messageSequence: m.messageSequence },
      };
    },

    async sendGroupMessage(req) {
      const s = caller(req.session);
      const c = req.content;
      const m = await messaging.send({
        conversationType: GROUP,
        appId: s.appId,
        fromId: s.userId,
        toId: c?.groupId ?? "",
        messageId: c?.messageId ?? "",
        messageBody: c?.messageBody ?? "",
        messageTime: c?.messageTime ?? 0,
        extra: c?.extra ?? "",
        device: s.device,
      });
      // The sequence and key in 2047 are a WhaleShark extension (the original sent messageId only).
      return {
        data: { messageId: m.messageId, messageKey: m.messageKey, messageSequence: m.messageSequence },
      };
    },

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
          conversationType: c?.conversationType ?? 0,
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
