import type { Prisma } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { CreateGroupPack, UpdateGroupInfoPack } from "../../../gen/ts/whaleshark/v1/group_pack.js";
import type {
  CreateGroupRequest,
  GroupServiceService,
  ImportGroupRequest,
} from "../../../gen/ts/whaleshark/v1/group_service.js";
import { Group } from "../../../gen/ts/whaleshark/v1/model.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { num, ownerOrAdmin, pageSize, requireAdmin, required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { syncWindow } from "../core/sync.js";
import { requireUser } from "../users/users.js";
import { groupLifecycleHandlers } from "./group-lifecycle.js";
import { GroupStore, type NewGroup } from "./group-store.js";
import {
  currentMembers,
  findMember,
  GROUP_STATUS,
  GROUP_TYPE,
  groupType,
  muteValue,
  newGroupId,
  PRIVATE_CHAT,
  privateChatValue,
  ROLE,
  requireGroup,
  toGroup,
  toGroupMember,
} from "./groups.js";

/**
 * The columns of a new group as Import/CreateGroup ask for them (empty strings and 0 unset).
 * @throws ImError 90001 for a mute other than 0 or 1
 */
function newGroup(
  req: ImportGroupRequest | CreateGroupRequest,
  ownerId: string,
  type: number,
  privateChat: number | undefined,
): NewGroup {
  return {
    ownerId,
    groupType: type,
    groupName: req.groupName || null,
    mute: muteValue(req.mute),
    applyJoinType: req.applyJoinType,
    privateChat,
    introduction: req.introduction || null,
    notification: req.notification || null,
    photo: req.photo || null,
    maxMemberCount: req.maxMemberCount || null,
    extra: req.extra || null,
  };
}

/**
 * GroupService (spec §6.3 #27–#34, #36; group_service.proto): request
 * mapping, the rules that need no rows, notifications and callbacks. Every
 * write, with the rules that read the rows it changes, is a GroupStore
 * method (group-store.ts), which takes the group sequence (D19) and bumps the
 * group's change token. Destroy, transfer and mute are in group-lifecycle.ts.
 */
export function groupHandlers(env: DomainEnv): AppHandlers<typeof GroupServiceService> {
  const groups = new GroupStore(env);
  return {
    ...groupLifecycleHandlers(env),

    async importGroup(req, ctx) {
      await requireAdmin(ctx);
      const type = groupType(req.groupType);
      if (type === GROUP_TYPE.PUBLIC && req.ownerId.trim() === "")
        throw ImError.of("PUBLIC_GROUP_MUST_HAVE_OWNER");
      const privateChat = privateChatValue(req.privateChat, PRIVATE_CHAT.ALLOWED);
      const groupId = req.groupId || newGroupId();
      // D15: a supplied create_time is kept.
      const createTime = req.createTime > 0 ? req.createTime : env.now();
      await groups.importGroup(ctx.appId, groupId, newGroup(req, req.ownerId, type, privateChat), createTime);
      return { groupId };
    },

    async createGroup(req, ctx) {
      const ownerId = ctx.operator;
      const type = groupType(req.groupType);
      const privateChat = privateChatValue(req.privateChat, PRIVATE_CHAT.ALLOWED);
      const db = await env.db();
      await requireUser(db, ctx.appId, ownerId);
      // D15: a supplied id is honoured (when free) and the id is returned.
      const groupId = req.groupId || newGroupId();
      const { group, results, members } = await groups.createWithOwner(
        ctx.appId,
        groupId,
        newGroup(req, ownerId, type, privateChat),
        req.member,
      );
      const { maxMemberCount: _max, updateTime: _updated, ...fields } = toGroup(group);
      const pack = CreateGroupPack.fromPartial(fields);
      await notify(
        env,
        ctx,
        members.map((m) => m.memberId),
        Command.COMMAND_CREATED_GROUP,
        CreateGroupPack.toJSON(pack),
      );
      env.callbacks.after(ctx.appId, "group.create.after", Group.toJSON(toGroup(group)));
      return { groupId, memberResults: results };
    },

    /**
     * The group and its current members, for an app admin or a current member. The member list
     * follows GetGroupMembers' rule (issue 13: the original gave every caller the roles,
     * aliases and `extra` of every member): a non-member asking about a PRIVATE group is refused
     * like GetGroupMembers refuses them (40006), so nothing of it is disclosed; a non-member
     * asking about a PUBLIC group gets the group's own fields (what a user looks at before
     * applying to join, spec §6.3 applyJoinType) and an empty member list.
     * @throws ImError 40000, 40006, 90001
     */
    async getGroupInfo(req, ctx) {
      const db = await env.db();
      const group = await requireGroup(db, ctx.appId, required(req.groupId, "group_id"));
      if (!(await ctx.isAdmin()) && (await findMember(db, ctx.appId, group.groupId, ctx.operator)) === null) {
        if (group.groupType !== GROUP_TYPE.PUBLIC)
          throw ImError.of("MEMBER_IS_NOT_JOINED_GROUP", ctx.operator);
        return { group: toGroup(group), memberList: [] };
      }
      const members = await currentMembers(db, ctx.appId, group.groupId);
      return { group: toGroup(group), memberList: members.map(toGroupMember) };
    },

    async updateGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const admin = await ctx.isAdmin();
      const { group, members, sequence } = await groups.update(
        ctx.appId,
        groupId,
        { id: ctx.operator, admin },
        {
          groupName: req.groupName,
          introduction: req.introduction,
          notification: req.notification,
          photo: req.photo,
          extra: req.extra,
          applyJoinType: req.applyJoinType,
          maxMemberCount: req.maxMemberCount,
          mute: req.mute === undefined ? undefined : muteValue(req.mute),
          privateChat: privateChatValue(req.privateChat),
        },
      );
      const pack = UpdateGroupInfoPack.fromPartial({
        groupId,
        groupName: req.groupName,
        introduction: req.introduction,
        joinType: req.applyJoinType,
        maxMemberCount: req.maxMemberCount,
        mute: req.mute,
        notification: req.notification,
        photo: req.photo,
        privateChat: req.privateChat,
        sequence,
      });
      await notify(
        env,
        ctx,
        members.map((m) => m.memberId),
        Command.COMMAND_UPDATED_GROUP,
        UpdateGroupInfoPack.toJSON(pack),
      );
      env.callbacks.after(ctx.appId, "group.update.after", Group.toJSON(toGroup(group)));
      return {};
    },

    async getJoinedGroups(req, ctx) {
      const memberId = await ownerOrAdmin(ctx, req.memberId);
      const db = await env.db();
      const groupIds = (
        await db.groupMember.findMany({
          where: { appId: ctx.appId, memberId, role: { not: ROLE.LEAVE } },
          select: { groupId: true },
        })
      ).map((m) => m.groupId);
      // D19: current memberships of live groups only, paged for real.
      const where: Prisma.GroupWhereInput = {
        appId: ctx.appId,
        groupId: { in: groupIds },
        status: GROUP_STATUS.NORMAL,
      };
      if (req.groupType.length > 0) where.groupType = { in: req.groupType.map(Number) };
      const [totalCount, rows] = await Promise.all([
        db.group.count({ where }),
        db.group.findMany({
          where,
          orderBy: { groupId: "asc" },
          take: pageSize(req.limit),
          skip: Math.max(0, req.offset),
        }),
      ]);
      return { totalCount, groupList: rows.map(toGroup) };
    },

    async syncJoinedGroups(req, ctx) {
      const db = await env.db();
      const window = syncWindow(req.lastSequence, req.maxLimit);
      const memberships = await db.groupMember.findMany({
        where: { appId: ctx.appId, memberId: ctx.operator },
        select: { groupId: true, role: true },
      });
      const left = new Set(memberships.filter((m) => m.role === ROLE.LEAVE).map((m) => m.groupId));
      const where = { appId: ctx.appId, groupId: { in: memberships.map((m) => m.groupId) } };
      const rows = await db.group.findMany({
        where: { ...where, sequence: { gt: window.after } },
        orderBy: { sequence: "asc" },
        take: window.take,
      });
      const max = await db.group.aggregate({ where, _max: { sequence: true } });
      const page = window.page(rows);
      return {
        maxSequence: num(max._max.sequence),
        completed: page.completed,
        // A group the caller left shows only what a device needs to drop it, nothing of its later state.
        dataList: page.dataList.map((g) =>
          left.has(g.groupId)
            ? Group.fromPartial({
                appId: g.appId,
                groupId: g.groupId,
                status: g.status,
                sequence: Number(g.sequence),
              })
            : toGroup(g),
        ),
        leftGroupIds: page.dataList.filter((g) => left.has(g.groupId)).map((g) => g.groupId),
      };
    },
  };
}
