import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import { ErrorCode } from "../../../gen/ts/whaleshark/v1/error_code.js";
import type { MessageServiceService } from "../../../gen/ts/whaleshark/v1/message_service.js";
import { ErrorCatalogue, ImError, isImError } from "../../../lib/errors/index.js";
import { permissionDenied } from "../../../lib/grpc/errors.js";
import type { AppHandlers, RequestContext } from "../../../lib/grpc/serve.js";
import type { Database } from "../../../lib/ports/db.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { ownerOrAdmin } from "../core/guards.js";
import type { Messaging } from "./messaging.js";
import { offlineMessages } from "./offline-messages.js";

/**
 * MessageService (message_service.proto): messaging for app servers, through
 * the very pipeline devices use (fixes D18: the original's API sends had no
 * sequence, no checks and hid the validated appId). Authentication and the
 * RequestBase check run before these handlers (lib/grpc/serve.ts).
 * SyncOfflineMessages answers from the message tables with the store's
 * device-sync query (offline-messages.ts), so it holds what
 * HistoryService.SyncDeviceMessages holds.
 */

/**
 * The user a message is sent as: `from_id` is required, and must be the
 * operator unless an app admin calls (common.proto §2).
 * @throws ImError 90001, 60005 (PERMISSION_DENIED)
 */
async function sender(ctx: RequestContext, fromId: string): Promise<string> {
  if (fromId.trim() === "") throw ImError.of("PARAMETER_ERROR", "from_id is required");
  if (fromId !== ctx.operator && !(await ctx.isAdmin())) {
    throw permissionDenied("USERSIGN_OPERATE_NOT_MATE", "from_id is not the operator");
  }
  return fromId;
}

/** The MessageService handlers over `messaging` and the database. */
export function messageServiceHandlers(
  messaging: Messaging,
  db: () => Promise<Database>,
): AppHandlers<typeof MessageServiceService> {
  return {
    async sendMessage(req, ctx) {
      const m = await messaging.send({
        conversationType: P2P,
        appId: ctx.appId,
        fromId: await sender(ctx, req.fromId),
        toId: req.toId,
        messageId: req.messageId,
        messageBody: req.messageBody,
        messageTime: req.messageTime,
        extra: req.extra,
        device: ctx.device,
      });
      return {
        messageId: m.messageId,
        messageKey: m.messageKey,
        messageSequence: m.messageSequence,
        messageTime: m.messageTime,
      };
    },

    async sendGroupMessage(req, ctx) {
      const m = await messaging.send({
        conversationType: GROUP,
        appId: ctx.appId,
        fromId: await sender(ctx, req.fromId),
        toId: req.groupId,
        messageId: req.messageId,
        messageBody: req.messageBody,
        messageTime: req.messageTime,
        extra: req.extra,
        device: ctx.device,
      });
      return {
        messageId: m.messageId,
        messageKey: m.messageKey,
        messageSequence: m.messageSequence,
        messageTime: m.messageTime,
      };
    },

    async recallMessage(req, ctx) {
      if (
        req.conversationType !== ConversationType.CONVERSATION_TYPE_P2P &&
        req.conversationType !== ConversationType.CONVERSATION_TYPE_GROUP
      ) {
        throw ImError.of("PARAMETER_ERROR", "conversation_type must be P2P or GROUP");
      }
      return messaging.recall({
        appId: ctx.appId,
        operator: ctx.operator,
        isAdmin: ctx.isAdmin,
        device: ctx.device,
        fromId: req.fromId,
        toId: req.toId,
        messageKey: req.messageKey,
      });
    },

    async checkSend(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      if (req.toId.trim() === "") throw ImError.of("PARAMETER_ERROR", "to_id is required");
      const group = req.conversationType === ConversationType.CONVERSATION_TYPE_GROUP;
      if (!group && req.conversationType !== ConversationType.CONVERSATION_TYPE_P2P) {
        throw ImError.of("PARAMETER_ERROR", "conversation_type must be P2P or GROUP");
      }
      try {
        await messaging.checkSend(ctx.appId, fromId, req.toId, group);
      } catch (error) {
        // A refusal is the answer, not a failed call (message_service.proto).
        if (!isImError(error)) throw error;
        return { ok: false, code: error.code as ErrorCode, msg: error.message };
      }
      return { ok: true, code: ErrorCode.ERROR_CODE_SUCCESS, msg: ErrorCatalogue.SUCCESS.message };
    },

    async syncOfflineMessages(req, ctx) {
      // The operator's own queue (#48 has no user_id); the caller is bound to it by serveApp.
      return offlineMessages(await db(), {
        appId: ctx.appId,
        userId: ctx.operator,
        lastSequence: req.lastSequence,
        maxLimit: req.maxLimit,
      });
    },
  };
}
