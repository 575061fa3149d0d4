import type { FriendshipRequest } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { AddFriendPack, FriendRequestPack } from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendItem } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import { CONVERSATION, ensureConversations } from "../conversation/conversations.js";
import type { DomainEnv } from "../core/env.js";
import { send, targetFor as targetOf } from "../core/notify.js";
import { nextUserSequence, type Tx } from "../core/sequences.js";
import { transaction } from "../core/tx.js";
import { toFriendRequestPack } from "../friend-request/friend-requests.js";
import { BLACK, FRIEND, findRelation } from "./friendships.js";

/**
 * Making friends (spec §6.3 doAddFriend, #9) and friend requests (spec §6.3
 * "Creating a request"), shared by FriendshipService.AddFriend and
 * FriendRequestService.ApproveFriendRequest.
 */

/**
 * Refuses a friendship or request across a blacklist: 30006 when `fromId`
 * blacked `toId`, 30007 when `toId` blacked `fromId`.
 */
export async function checkNotBlacked(tx: Tx, appId: number, fromId: string, toId: string): Promise<void> {
  if ((await findRelation(tx, appId, fromId, toId))?.black === BLACK.BLACKED) {
    throw ImError.of("FRIEND_IS_BLACK");
  }
  if ((await findRelation(tx, appId, toId, fromId))?.black === BLACK.BLACKED) {
    throw ImError.of("TARGET_IS_BLACK_YOU");
  }
}

/**
 * Makes `fromId` and `item.toId` friends on both sides, in one transaction:
 * - from → to becomes NORMAL with the item's remark, add_source and extra
 *   (only those given); already NORMAL → 30002, unless `alreadyFriendsOk`
 *   (an approved request), then it is left as it is;
 * - to → from becomes NORMAL without copying from's remark (D11); left as it
 *   is when already NORMAL;
 * - each changed row takes a sequence from its owner's friendShipSeq counter;
 * - each side gets its P2P conversation when it has none (D11).
 * Then pushes 3000 FRIEND_ADD to both users, each with the pack of their own
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
  const db = await env.db();
  const now = env.now();
  const scopes = [ChangeTokens.user(appId, fromId), ChangeTokens.user(appId, toId)];
  const rows = await env.changes.around(scopes, () =>
    transaction(db, async (tx) => {
      await checkNotBlacked(tx, appId, fromId, toId);
      const forward = await findRelation(tx, appId, fromId, toId);
      const backward = await findRelation(tx, appId, toId, fromId);
      if (forward?.status === FRIEND.NORMAL && !opts.alreadyFriendsOk) throw ImError.of("TO_IS_YOUR_FRIEND");
      // Sequences first, both owners in sorted order (core/sequences lock order).
      const owners = [fromId, toId].sort();
      const seq = new Map<string, number>();
      for (const owner of owners) {
        const row = owner === fromId ? forward : backward;
        if (row?.status !== FRIEND.NORMAL)
          seq.set(owner, await nextUserSequence(tx, appId, "friendShipSeq", owner));
      }
      const write = async (
        owner: string,
        peer: string,
        fields: { remark?: string; addSource?: string; extra?: string },
      ) => {
        const sequence = seq.get(owner);
        if (sequence === undefined) return findRelation(tx, appId, owner, peer);
        return tx.friendship.upsert({
          where: { appId_fromId_toId: { appId, fromId: owner, toId: peer } },
          create: {
            appId,
            fromId: owner,
            toId: peer,
            status: FRIEND.NORMAL,
            black: BLACK.NORMAL,
            createTime: BigInt(now),
            friendSequence: BigInt(sequence),
            remark: fields.remark ?? null,
            addSource: fields.addSource ?? null,
            extra: fields.extra ?? null,
          },
          update: {
            status: FRIEND.NORMAL,
            friendSequence: BigInt(sequence),
            remark: fields.remark,
            addSource: fields.addSource,
            extra: fields.extra,
          },
        });
      };
      const a = await write(fromId, toId, {
        remark: item.remark,
        addSource: item.addSource,
        extra: item.extra,
      });
      const b = await write(toId, fromId, { addSource: item.addSource });
      await ensureConversations(tx, appId, [
        { type: CONVERSATION.P2P, owner: fromId, to: toId },
        { type: CONVERSATION.P2P, owner: toId, to: fromId },
      ]);
      return { a, b };
    }),
  );
  const pack = (row: typeof rows.a) =>
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
      data: pack(rows.a),
    },
    { userId: toId, target: targetOf(ctx, toId), command: Command.COMMAND_FRIEND_ADD, data: pack(rows.b) },
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
