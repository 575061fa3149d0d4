import type { FriendshipGroup, FriendshipGroupMember } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import type { FriendGroupServiceService } from "../../../gen/ts/whaleshark/v1/friend_group_service.js";
import {
  AddFriendGroupMemberPack,
  AddFriendGroupPack,
  DeleteFriendGroupMemberPack,
  DeleteFriendGroupPack,
} from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendGroup } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers, RequestContext } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { num, ownerOrAdmin, required } from "../core/guards.js";
import { send, targetFor } from "../core/notify.js";
import { nextUserSequence, type Tx } from "../core/sequences.js";
import { syncWindow } from "../core/sync.js";
import { transaction } from "../core/tx.js";
import { liveUserIds } from "../users/users.js";

/** A label row (with its members) as the contract's FriendGroup. */
export function toFriendGroup(row: FriendshipGroup & { members: FriendshipGroupMember[] }): FriendGroup {
  return {
    appId: row.appId,
    fromId: row.fromId,
    groupId: Number(row.groupId),
    groupName: row.groupName,
    sequence: Number(row.sequence),
    createTime: Number(row.createTime ?? 0n),
    updateTime: Number(row.updateTime ?? 0n),
    delFlag: row.delFlag,
    toIds: row.members.map((m) => m.toId).sort(),
  };
}

/** The live label `name` of `fromId`. @throws ImError 30016 when there is none */
async function requireLabel(tx: Tx, appId: number, fromId: string, name: string): Promise<FriendshipGroup> {
  const label = await tx.friendshipGroup.findFirst({ where: { appId, fromId, groupName: name, delFlag: 0 } });
  if (label === null) throw ImError.of("FRIEND_SHIP_GROUP_IS_NOT_EXIST", name);
  return label;
}

/**
 * Files `toIds` under `label`: live users are filed (already filed counts as
 * success), others go to errorId. Takes a sequence for the label.
 */
async function fileMembers(tx: Tx, appId: number, label: FriendshipGroup, toIds: string[], now: number) {
  const unique = [...new Set(toIds)];
  const live = await liveUserIds(tx, appId, unique);
  const successId = unique.filter((id) => live.has(id));
  const errorId = unique.filter((id) => !live.has(id));
  await tx.friendshipGroupMember.createMany({
    data: successId.map((toId) => ({ groupId: label.groupId, toId })),
    skipDuplicates: true,
  });
  const sequence = await nextUserSequence(tx, appId, "friendShipGroupSeq", label.fromId);
  await tx.friendshipGroup.update({
    where: { groupId: label.groupId },
    data: { sequence: BigInt(sequence), updateTime: BigInt(now) },
  });
  return { successId, errorId, sequence };
}

/** Pushes one friend-group notification to the owner (except the calling device). */
function tell(
  env: DomainEnv,
  ctx: RequestContext,
  owner: string,
  items: Array<{ command: number; data: unknown }>,
) {
  return send(
    env,
    ctx,
    items.map((i) => ({ userId: owner, target: targetFor(ctx, owner), ...i })),
  );
}

/**
 * FriendGroupService (spec §6.3 #23–#26, friend_group_service.proto): a
 * user's labels over their friends. Every change takes a sequence from the
 * owner's friendShipGroupSeq counter; deleted labels stay in sync with
 * del_flag 1, and re-creating a deleted name revives that row (D23).
 */
export function friendGroupHandlers(env: DomainEnv): AppHandlers<typeof FriendGroupServiceService> {
  return {
    async addFriendGroup(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const groupName = required(req.groupName, "group_name");
      const db = await env.db();
      const now = env.now();
      const result = await transaction(db, async (tx) => {
        const existing = await tx.friendshipGroup.findUnique({
          where: { appId_fromId_groupName: { appId: ctx.appId, fromId, groupName } },
        });
        if (existing?.delFlag === 0) throw ImError.of("FRIEND_SHIP_GROUP_IS_EXIST", groupName);
        const sequence = await nextUserSequence(tx, ctx.appId, "friendShipGroupSeq", fromId);
        const label =
          existing === null
            ? await tx.friendshipGroup.create({
                data: {
                  appId: ctx.appId,
                  fromId,
                  groupName,
                  sequence: BigInt(sequence),
                  createTime: BigInt(now),
                  updateTime: BigInt(now),
                },
              })
            : await tx.friendshipGroup.update({
                where: { groupId: existing.groupId },
                data: {
                  delFlag: 0,
                  sequence: BigInt(sequence),
                  createTime: BigInt(now),
                  updateTime: BigInt(now),
                },
              });
        const members =
          req.toIds.length > 0 ? await fileMembers(tx, ctx.appId, label, req.toIds, now) : undefined;
        return { label, sequence, members };
      });
      const items: Array<{ command: number; data: unknown }> = [
        {
          command: Command.COMMAND_FRIEND_GROUP_ADD,
          data: AddFriendGroupPack.toJSON({ fromId, groupName, sequence: result.sequence }),
        },
      ];
      if (result.members !== undefined) {
        const { successId, sequence } = result.members;
        items.push({
          command: Command.COMMAND_FRIEND_GROUP_MEMBER_ADD,
          data: AddFriendGroupMemberPack.toJSON({ fromId, groupName, sequence, toIds: successId }),
        });
      }
      await tell(env, ctx, fromId, items);
      return {
        groupId: Number(result.label.groupId),
        successId: result.members?.successId ?? [],
        errorId: result.members?.errorId ?? [],
      };
    },

    async deleteFriendGroups(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const db = await env.db();
      const deleted = await transaction(db, async (tx) => {
        const labels = await tx.friendshipGroup.findMany({
          where: { appId: ctx.appId, fromId, groupName: { in: req.groupName }, delFlag: 0 },
          orderBy: { groupName: "asc" },
        });
        const out: Array<{ groupName: string; sequence: number }> = [];
        for (const label of labels) {
          const sequence = await nextUserSequence(tx, ctx.appId, "friendShipGroupSeq", fromId);
          await tx.friendshipGroupMember.deleteMany({ where: { groupId: label.groupId } });
          await tx.friendshipGroup.update({
            where: { groupId: label.groupId },
            data: { delFlag: 1, sequence: BigInt(sequence), updateTime: BigInt(env.now()) },
          });
          out.push({ groupName: label.groupName, sequence });
        }
        return out;
      });
      await tell(
        env,
        ctx,
        fromId,
        deleted.map((d) => ({
          command: Command.COMMAND_FRIEND_GROUP_DELETE,
          data: DeleteFriendGroupPack.toJSON({ fromId, ...d }),
        })),
      );
      return {};
    },

    async addFriendGroupMembers(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const groupName = required(req.groupName, "group_name");
      const db = await env.db();
      const { successId, errorId, sequence } = await transaction(db, async (tx) => {
        const label = await requireLabel(tx, ctx.appId, fromId, groupName);
        return fileMembers(tx, ctx.appId, label, req.toIds, env.now());
      });
      await tell(env, ctx, fromId, [
        {
          command: Command.COMMAND_FRIEND_GROUP_MEMBER_ADD,
          data: AddFriendGroupMemberPack.toJSON({ fromId, groupName, sequence, toIds: successId }),
        },
      ]);
      return { successId, errorId };
    },

    async deleteFriendGroupMembers(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const groupName = required(req.groupName, "group_name");
      const db = await env.db();
      const { successId, sequence } = await transaction(db, async (tx) => {
        const label = await requireLabel(tx, ctx.appId, fromId, groupName);
        const filed = await tx.friendshipGroupMember.findMany({
          where: { groupId: label.groupId, toId: { in: req.toIds } },
          orderBy: { toId: "asc" },
        });
        await tx.friendshipGroupMember.deleteMany({
          where: { groupId: label.groupId, toId: { in: req.toIds } },
        });
        const seq = await nextUserSequence(tx, ctx.appId, "friendShipGroupSeq", fromId);
        await tx.friendshipGroup.update({
          where: { groupId: label.groupId },
          data: { sequence: BigInt(seq), updateTime: BigInt(env.now()) },
        });
        return { successId: filed.map((m) => m.toId), sequence: seq };
      });
      await tell(env, ctx, fromId, [
        {
          command: Command.COMMAND_FRIEND_GROUP_MEMBER_DELETE,
          data: DeleteFriendGroupMemberPack.toJSON({ fromId, groupName, sequence, toIds: successId }),
        },
      ]);
      return { successId };
    },

    async listFriendGroups(req, ctx) {
      const fromId = await ownerOrAdmin(ctx, req.fromId);
      const rows = await (await env.db()).friendshipGroup.findMany({
        where: { appId: ctx.appId, fromId, delFlag: 0 },
        include: { members: true },
        orderBy: { groupName: "asc" },
      });
      return { friendGroups: rows.map(toFriendGroup) };
    },

    async syncFriendGroups(req, ctx) {
      const db = await env.db();
      const window = syncWindow(req.lastSequence, req.maxLimit);
      const where = { appId: ctx.appId, fromId: ctx.operator };
      const rows = await db.friendshipGroup.findMany({
        where: { ...where, sequence: { gt: window.after } },
        include: { members: true },
        orderBy: { sequence: "asc" },
        take: window.take,
      });
      const max = await db.friendshipGroup.aggregate({ where, _max: { sequence: true } });
      const page = window.page(rows);
      return {
        maxSequence: num(max._max.sequence),
        completed: page.completed,
        dataList: page.dataList.map(toFriendGroup),
      };
    },
  };
}
