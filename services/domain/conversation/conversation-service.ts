import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import {
  DeleteConversationPack,
  UpdateConversationPack,
} from "../../../gen/ts/whaleshark/v1/conversation_pack.js";
import type { ConversationServiceService } from "../../../gen/ts/whaleshark/v1/conversation_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { DomainEnv } from "../core/env.js";
import { ownerOrAdmin, required } from "../core/guards.js";
import { notify, targetFor } from "../core/notify.js";
import { syncWindow } from "../core/sync.js";
import { ConversationStore } from "./conversation-store.js";
import { conversationsAfter, maxConversationSequence, toConversation } from "./conversations.js";
import { markRead } from "./mark-read.js";
import { unreadCounts } from "./unread-counts.js";

/**
 * The parts of a conversation id of `owner`: `{0|1}_{owner}_{peerOrGroup}`.
 * @throws ImError 50000 for an id that is not the owner's (or malformed)
 */
export function parseConversationId(id: string, owner: string): { type: number; to: string } {
  for (const type of [P2P, GROUP]) {
    const prefix = `${type}_${owner}_`;
    if (id.startsWith(prefix) && id.length > prefix.length) return { type, to: id.slice(prefix.length) };
  }
  throw ImError.of("CONVERSATION_UPDATE_PARAM_ERROR", "conversation_id is not the owner's");
}

/**
 * ConversationService (spec §6.3 #42–#44, §5.7; conversation_service.proto).
 * `from_id` owns the conversation (empty = the operator; others need an app
 * admin). The handlers keep the rules and the notifications; every write,
 * each numbered from the owner's conversationSeq counter, is
 * conversation-store.ts's.
 */
export function conversationHandlers(env: DomainEnv): AppHandlers<typeof ConversationServiceService> {
  const conversations = new ConversationStore(env);
  return {
    async deleteConversation(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const id = required(req.conversationId, "conversation_id");
      const { type, to } = parseConversationId(id, fromId);
      const deleted = await conversations.delete(ctx.appId, { type, owner: fromId, to });
      if (deleted && env.settings.deleteConversationSyncMode === 1) {
        const pack = DeleteConversationPack.toJSON({ conversationId: id });
        await notify(env, ctx, [fromId], Command.COMMAND_CONVERSATION_DELETE, pack);
      }
      return {};
    },

    async updateConversation(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const id = required(req.conversationId, "conversation_id");
      if (req.isMute === undefined && req.isTop === undefined) {
        throw ImError.of("CONVERSATION_UPDATE_PARAM_ERROR", "is_mute or is_top is required");
      }
      for (const flag of [req.isMute, req.isTop]) {
        if (flag !== undefined && flag !== 0 && flag !== 1) {
          throw ImError.of("CONVERSATION_UPDATE_PARAM_ERROR", "is_mute and is_top are 0 or 1");
        }
      }
      const { type, to } = parseConversationId(id, fromId);
      const sequence = await conversations.setFlags(
        ctx.appId,
        { type, owner: fromId, to },
        { isMute: req.isMute, isTop: req.isTop },
      );
      const pack = UpdateConversationPack.toJSON(
        UpdateConversationPack.fromPartial({
          conversationId: id,
          conversationType: type,
          isMute: req.isMute,
          isTop: req.isTop,
          sequence,
        }),
      );
      await notify(env, ctx, [fromId], Command.COMMAND_CONVERSATION_UPDATE, pack);
      return {};
    },

    async syncConversations(req, ctx) {
      const db = await env.db();
      const window = syncWindow(req.lastSequence, req.maxLimit);
      const rows = await conversationsAfter(db, ctx.appId, ctx.operator, window.after, window.take);
      const maxSequence = await maxConversationSequence(db, ctx.appId, ctx.operator);
      const page = window.page(rows);
      const unread = await unreadCounts(db, ctx.appId, page.dataList);
      const dataList = page.dataList.map((row) => toConversation(row, unread.get(row.conversationId) ?? 0));
      return { maxSequence, completed: page.completed, dataList };
    },

    async markRead(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      await markRead(
        env,
        {
          appId: ctx.appId,
          fromId,
          toId: req.toId,
          groupId: req.groupId,
          conversationType: req.conversationType,
          messageSequence: req.messageSequence,
        },
        targetFor(ctx, fromId),
        ctx.log,
      );
      return {};
    },
  };
}
