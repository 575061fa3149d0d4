import type { FriendshipRequest } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { AddFriendPack, FriendRequestPack } from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendItem } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { send, targetFor as targetOf } from "../core/notify.js";
import { nextUserSequence } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { toFriendRequestPack } from "../friend-request/friend-requests.js";
import { FriendshipStore } from "./friendship-store.js";
import { checkNotBlacked, FRIEND, findRelation } from "./friendships.js";

/**
 * Making friends (spec §6.3 doAddFriend, #9) and friend requests (spec §6.3
 * "Creating a request"), shared by FriendshipService.AddFriend and
 * FriendRequestService.ApproveFriendRequest.
 */

/**
 * Makes `fromId` and `item.toId` friends on both sides
 * ({@link FriendshipStore.befriend}: the rules, the rows and their change tokens),
 * then pushes 3000 FRIEND_ADD to both users, each with the pack of their own
 * row (the operator's calling device skipped), and fires `friend.add.after`.
 */
export async function makeFriends(
  env: DomainEnv,
  ctx: RequestContext,
  fromId: string,
  item: FriendItem,
  opts: { alreadyFriendsOk?: boolean } = {},
): Promise<void> {
  const { appId } = ctx;
  const toId = item.toId;
  const rows = await new FriendshipStore(env).befriend(appId, fromId, item, opts);
  const pack = (row: typeof rows.forward) =>
    AddFriendPack.toJSON(
      AddFriendPack.fromPartial({
        fromId: row?.fromId,
        toId: row?.toId,
        remark: row?.remark ?? "",
        addSource: row?.addSource ?? "",
        addWording: item.addWording ?? "",
        sequence: Number(row?.friendSequence ?? 0n),
      }),
    );
  await send(env, ctx, [
    {
      userId: fromId,
      target: targetOf(ctx, fromId),
      command: Command.COMMAND_FRIEND_ADD,
      data: pack(rows.forward),
    },
    {
      userId: toId,
      target: targetOf(ctx, toId),
      command: Command.COMMAND_FRIEND_ADD,
      data: pack(rows.backward),
    },
  ]);
  env.callbacks.after(appId, "friend.add.after", { fromId, toItem: item });
}

/**
 * Creates or refreshes the request `fromId` → `item.toId` (spec §6.3): an
 * existing request between them is reset to pending and unread with the new
 * wording, source (D35: the original forgot it) and remark; its sequence is
 * above both users' request counters, as both sync it. Pushes 3003
 * FRIEND_REQUEST with the row to the target's devices.
 */
export async function requestFriend(
  env: DomainEnv,
  ctx: RequestContext,
  fromId: string,
  item: FriendItem,
): Promise<FriendshipRequest> {
  const { appId } = ctx;
  const toId = item.toId;
  const db = await env.db();
  const now = BigInt(env.now());
  const row = await transaction(db, async (tx) => {
    await checkNotBlacked(tx, appId, fromId, toId);
    if ((await findRelation(tx, appId, fromId, toId))?.status === FRIEND.NORMAL) {
      throw ImError.of("TO_IS_YOUR_FRIEND"); // D6: a request only between non-friends
    }
    const sequence = BigInt(await nextUserSequence(tx, appId, "friendShipRequestSeq", fromId, toId));
    const existing = await tx.friendshipRequest.findFirst({
      where: { appId, fromId, toId },
      orderBy: { id: "desc" },
    });
    if (existing === null) {
      return tx.friendshipRequest.create({
        data: {
          appId,
          fromId,
          toId,
          remark: item.remark ?? null,
          addSource: item.addSource ?? null,
          addWording: item.addWording ?? null,
          readStatus: 0,
          approveStatus: 0,
          createTime: now,
          updateTime: now,
          sequence,
        },
      });
    }
    return tx.friendshipRequest.update({
      where: { id: existing.id },
      data: {
        remark: item.remark,
        addSource: item.addSource,
        addWording: item.addWording,
        readStatus: 0,
        approveStatus: 0,
        updateTime: now,
        sequence,
      },
    });
  });
  await send(env, ctx, [
    {
      userId: toId,
      target: targetOf(ctx, toId),
      command: Command.COMMAND_FRIEND_REQUEST,
      data: FriendRequestPack.toJSON(toFriendRequestPack(row)),
    },
  ]);
  return row;
}
