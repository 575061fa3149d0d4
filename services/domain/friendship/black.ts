import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { AddFriendBlackPack, DeleteBlackPack } from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendshipServiceService } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { ownerOrAdmin, required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { requireUser } from "../users/users.js";
import { FriendshipStore } from "./friendship-store.js";
import { BLACK, checkRelations } from "./friendships.js";

type BlackHandlers = Pick<
  Required<AppHandlers<typeof FriendshipServiceService>>,
  "addBlack" | "deleteBlack" | "checkBlack"
>;

/**
 * The blacklist half of FriendshipService (spec §6.3 #16–#18). Blacking is
 * one-directional and lives on the from → to friendship row (black 2); a row
 * is created when the users were never friends (status NO_FRIEND). Every
 * change bumps friend_sequence and black_sequence, so sync sees it (D7); the
 * rows are written by friendship-store.ts.
 */
export function blackHandlers(env: DomainEnv): BlackHandlers {
  const friendships = new FriendshipStore(env);

  return {
    async addBlack(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const toId = required(req.toId, "to_id");
      if (toId === fromId) throw ImError.of("PARAMETER_ERROR", "cannot black oneself");
      const db = await env.db();
      await requireUser(db, ctx.appId, fromId);
      await requireUser(db, ctx.appId, toId);
      const sequence = await friendships.setBlack(ctx.appId, fromId, toId, BLACK.BLACKED);
      const pack = AddFriendBlackPack.fromPartial({ fromId, toId, sequence });
      await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_BLACK_ADD, AddFriendBlackPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "black.add.after", { fromId, toId });
      return {};
    },

    async deleteBlack(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const toId = required(req.toId, "to_id");
      const sequence = await friendships.setBlack(ctx.appId, fromId, toId, BLACK.NORMAL);
      const pack = DeleteBlackPack.fromPartial({ fromId, toId, sequence });
      await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_BLACK_DELETE, DeleteBlackPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "black.delete", { fromId, toId });
      return {};
    },

    async checkBlack(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const results = await checkRelations(
        await env.db(),
        ctx.appId,
        fromId,
        req.toIds,
        req.checkType,
        (row) => row?.black === BLACK.BLACKED,
      );
      return { results };
    },
  };
}
