import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { AddFriendBlackPack, DeleteBlackPack } from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendshipServiceService } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import type { DomainEnv } from "../core/env.js";
import { ownerOrAdmin, required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { nextUserSequence } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { requireUser } from "../users/users.js";
import { BLACK, checkRelations, FRIEND, findRelation } from "./friendships.js";

type BlackHandlers = Pick<
  Required<AppHandlers<typeof FriendshipServiceService>>,
  "addBlack" | "deleteBlack" | "checkBlack"
>;

/**
 * The blacklist half of FriendshipService (spec §6.3 #16–#18). Blacking is
 * one-directional and lives on the from → to friendship row (black 2); a row
 * is created when the users were never friends (status NO_FRIEND). Every
 * change bumps friend_sequence and black_sequence, so sync sees it (D7).
 */
export function blackHandlers(env: DomainEnv): BlackHandlers {
  /** Sets the black column of from → to; `expectBlacked` is what it must be now. */
  const setBlack = async (appId: number, fromId: string, toId: string, black: number): Promise<number> => {
    const db = await env.db();
    return env.changes.around([ChangeTokens.user(appId, fromId)], () =>
      transaction(db, async (tx) => {
        const row = await findRelation(tx, appId, fromId, toId);
        if (black === BLACK.BLACKED && row?.black === BLACK.BLACKED) throw ImError.of("FRIEND_IS_BLACK");
        if (black === BLACK.NORMAL && row === null) throw ImError.of("REPEATSHIP_IS_NOT_EXIST"); // D35: was an NPE
        if (black === BLACK.NORMAL && row?.black !== BLACK.BLACKED)
          throw ImError.of("FRIEND_IS_NOT_YOUR_BLACK");
        const sequence = BigInt(await nextUserSequence(tx, appId, "friendShipSeq", fromId));
        await tx.friendship.upsert({
          where: { appId_fromId_toId: { appId, fromId, toId } },
          create: {
            appId,
            fromId,
            toId,
            status: FRIEND.NO_FRIEND,
            black,
            createTime: BigInt(env.now()),
            friendSequence: sequence,
            blackSequence: sequence,
          },
          update: { black, friendSequence: sequence, blackSequence: sequence },
        });
        return Number(sequence);
      }),
    );
  };

  return {
    async addBlack(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const toId = required(req.toId, "to_id");
      if (toId === fromId) throw ImError.of("PARAMETER_ERROR", "cannot black oneself");
      const db = await env.db();
      await requireUser(db, ctx.appId, fromId);
      await requireUser(db, ctx.appId, toId);
      const sequence = await setBlack(ctx.appId, fromId, toId, BLACK.BLACKED);
      const pack = AddFriendBlackPack.fromPartial({ fromId, toId, sequence });
      await notify(env, ctx, [fromId], Command.COMMAND_FRIEND_BLACK_ADD, AddFriendBlackPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "black.add.after", { fromId, toId });
      return {};
    },

    async deleteBlack(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const toId = required(req.toId, "to_id");
      const sequence = await setBlack(ctx.appId, fromId, toId, BLACK.NORMAL);
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
