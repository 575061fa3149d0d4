import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import {
  DeleteAllFriendPack,
  DeleteFriendPack,
  UpdateFriendPack,
} from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import {
  AddFriendRequest,
  type FriendshipServiceService,
  UpdateFriendRequest,
} from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { num, ownerOrAdmin, requireAdmin, required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { syncWindow } from "../core/sync.js";
import { requireUser } from "../users/users.js";
import { makeFriends, requestFriend } from "./add-friend.js";
import { blackHandlers } from "./black.js";
import { FriendshipStore } from "./friendship-store.js";
import { checkRelations, FRIEND, findRelation, toFriendship } from "./friendships.js";

/** The most rows one import takes (spec §6.3 #8). */
export const IMPORT_FRIENDSHIPS_MAX = 100;

/**
 * FriendshipService (spec §6.3 #8–#19, friendship_service.proto). `from_id`
 * is the operator's (empty = the operator) unless an app admin calls. Every
 * row is written by friendship-store.ts, which bumps the change tokens; the
 * reads (sync, relations, checks) are queries of their own here and in
 * friendships.ts.
 */
export function friendshipHandlers(env: DomainEnv): AppHandlers<typeof FriendshipServiceService> {
  const friendships = new FriendshipStore(env);
  return {
    ...blackHandlers(env),

    async importFriendships(req, ctx) {
      await requireAdmin(ctx);
      if (req.friendItem.length > IMPORT_FRIENDSHIPS_MAX) throw ImError.of("FRIENDSHIP_IMPORT_SIZE_BEYOND");
      const fromId = required(req.fromId, "from_id");
      const db = await env.db();
      await requireUser(db, ctx.appId, fromId);
      const successId: string[] = [];
      const errorId: string[] = [];
      for (const item of req.friendItem) {
        try {
          await requireUser(db, ctx.appId, required(item.toId, "to_id"));
          await friendships.importOne(ctx.appId, fromId, item);
          successId.push(item.toId);
        } catch (error) {
          ctx.log.debug({ err: error, toId: item.toId }, "friendship not imported");
          errorId.push(item.toId);
        }
      }
      return { successId, errorId };
    },

    async addFriend(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const item = req.toItem;
      const toId = required(item?.toId ?? "", "to_item.to_id");
      if (item === undefined || toId === fromId) throw ImError.of("PARAMETER_ERROR", "cannot add oneself");
      const db = await env.db();
      await requireUser(db, ctx.appId, fromId);
      const target = await requireUser(db, ctx.appId, toId);
      // disable_add_friend (D33: stored, never read by the original): nobody adds this user, with or
      // without a request; an app admin's ImportFriendships still can.
      if (target.disableAddFriend === 1)
        throw ImError.of("ADD_FRIEND_ERROR", `${toId} does not accept friends`);
      await env.callbacks.before(ctx.appId, "friend.add.before", AddFriendRequest.toJSON({ ...req, fromId }));
      // friend_allow_type 1 = no verification; anything else needs a request (spec §10.2).
      if (target.friendAllowType === 1) {
        await makeFriends(env, ctx, fromId, item);
        return { requestSent: false };
      }
      await requestFriend(env, ctx, fromId, item);
      return { requestSent: true };
    },

    async updateFriend(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const item = req.toItem;
      const toId = required(item?.toId ?? "", "to_item.to_id");
      const db = await env.db();
      await requireUser(db, ctx.appId, fromId);
      await requireUser(db, ctx.appId, toId);
      await env.callbacks.before(
        ctx.appId,
        "friend.update.before",
        UpdateFriendRequest.toJSON({ ...req, fromId }),
      );
      const row = await friendships.update(ctx.appId, fromId, toId, {
        remark: item?.remark,
        addSource: item?.addSource,
        extra: item?.extra,
      });
      const pack = UpdateFriendPack.fromPartial({
        fromId,
        toId,
        remark: item?.remark,
        sequence: num(row.friendSequence),
      });
      await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_UPDATE, UpdateFriendPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "friend.update.after", { fromId, toItem: item });
      return {};
    },

    async deleteFriend(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const toId = required(req.toId, "to_id");
      const sequence = await friendships.remove(ctx.appId, fromId, toId);
      const pack = DeleteFriendPack.fromPartial({ fromId, toId, sequence });
      await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_DELETE, DeleteFriendPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "friend.delete.after", { fromId, toId });
      return {};
    },

    async deleteAllFriends(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const { deleted, sequence } = await friendships.removeAll(ctx.appId, fromId);
      if (deleted.length > 0) {
        const pack = DeleteAllFriendPack.fromPartial({ fromId, sequence });
        await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_ALL_DELETE, DeleteAllFriendPack.toJSON(pack));
        for (const toId of deleted) env.callbacks.after(ctx.appId, "friend.delete.after", { fromId, toId });
      }
      return {};
    },

    async getAllFriendships(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const db = await env.db();
      const rows = await db.friendship.findMany({
        where: { appId: ctx.appId, fromId },
        orderBy: { toId: "asc" },
      });
      return { friendships: rows.map(toFriendship) };
    },

    async getRelation(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const row = await findRelation(await env.db(), ctx.appId, fromId, required(req.toId, "to_id"));
      if (row === null) throw ImError.of("REPEATSHIP_IS_NOT_EXIST");
      return { friendship: toFriendship(row) };
    },

    async checkFriend(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const results = await checkRelations(
        await env.db(),
        ctx.appId,
        fromId,
        req.toIds,
        req.checkType,
        (row) => row?.status === FRIEND.NORMAL,
      );
      return { results };
    },

    async syncFriendships(req, ctx) {
      const db = await env.db();
      const window = syncWindow(req.lastSequence, req.maxLimit);
      const where = { appId: ctx.appId, fromId: ctx.operator };
      const rows = await db.friendship.findMany({
        where: { ...where, friendSequence: { gt: window.after } },
        orderBy: { friendSequence: "asc" },
        take: window.take,
      });
      // D10: the maximum over the caller's rows (the original bound the app id as from_id).
      const max = await db.friendship.aggregate({ where, _max: { friendSequence: true } });
      const page = window.page(rows);
      return {
        maxSequence: num(max._max.friendSequence),
        completed: page.completed,
        dataList: page.dataList.map(toFriendship),
      };
    },
  };
}
