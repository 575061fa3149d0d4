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
import { num, ownerOrAdmin, required } from "../core/guards.js";
import { notify, targetFor } from "../core/notify.js";
import { nextUserSequence } from "../core/sequences.js";
import { syncWindow } from "../core/sync.js";
import { transaction } from "../core/tx.js";
import { toConversation } from "./conversations.js";
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
 * admin). Every change takes a sequence from the owner's conversationSeq
 * counter.
 */
export function conversationHandlers(env: DomainEnv): AppHandlers<typeof ConversationServiceService> {
  return {
    async deleteConversation(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const id = required(req.conversationId, "conversation_id");
      parseConversationId(id, fromId);
      const db = await env.db();
      // D11: a real delete (del_flag 1, with a sequence so the owner's other devices sync it).
      const deleted = await transaction(db, async (tx) => {
        const sequence = await nextUserSequence(tx, ctx.appId, "conversationSeq", fromId);
        const { count } = await tx.conversationSet.updateMany({
          where: { appId: ctx.appId, conversationId: id, fromId, delFlag: 0 },
          data: { delFlag: 1, sequence: BigInt(sequence) },
        });
        return count > 0;
      });
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
      const db = await env.db();
      const sequence = await transaction(db, async (tx) => {
        const seq = await nextUserSequence(tx, ctx.appId, "conversationSeq", fromId);
        await tx.conversationSet.upsert({
          where: { appId_conversationId: { appId: ctx.appId, conversationId: id } },
          // The original returned success without a row; a well-formed id of the owner gets one.
          create: {
            appId: ctx.appId,
            conversationId: id,
            conversationType: type,
            fromId,
            toId: to,
            isMute: req.isMute ?? 0,
            isTop: req.isTop ?? 0,
            sequence: BigInt(seq),
          },
          update: { isMute: req.isMute, isTop: req.isTop, sequence: BigInt(seq) },
        });
        return seq;
      });
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
      const where = { appId: ctx.appId, fromId: ctx.operator };
      // Exclusive bound (the original used >=) and the caller's own maximum (not the app's).
      const rows = await db.conversationSet.findMany({
        where: { ...where, sequence: { gt: window.after } },
        orderBy: { sequence: "asc" },
        take: window.take,
      });
      const max = await db.conversationSet.aggregate({ where, _max: { sequence: true } });
      const page = window.page(rows);
      const unread = await unreadCounts(db, ctx.appId, page.dataList);
      const dataList = page.dataList.map((row) => toConversation(row, unread.get(row.conversationId) ?? 0));
      return { maxSequence: num(max._max.sequence), completed: page.completed, dataList };
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
