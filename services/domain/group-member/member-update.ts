import type { Prisma } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import type { GroupMemberServiceService } from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupMemberSpeakPack, UpdateGroupMemberPack } from "../../../gen/ts/whaleshark/v1/group_pack.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { GroupStore } from "../group/group-store.js";
import {
  bumpGroup,
  currentMembers,
  GROUP_TYPE,
  ROLE,
  requireLiveGroup,
  requireMember,
} from "../group/groups.js";
import { notifyInChunks } from "./chunks.js";

type UpdateHandlers = Pick<
  Required<AppHandlers<typeof GroupMemberServiceService>>,
  "updateGroupMember" | "muteGroupMember"
>;

/**
 * Member updates and mutes (spec §6.3 #40–#41). Rules, checked in this order:
 * update — target a member (40006); alias and extra by the member
 * themself or the owner/a manager (40014); role MANAGER or ORDINARY only
 * (90001: ownership moves by TransferGroup), in a private group by an app
 * admin only (40008), otherwise by the owner (an ordinary member 40007, a
 * manager 40009). Mute — the operator
 * the owner or a manager (40007), the target a member (40006) and not the
 * owner (40008), a manager muting only ordinary members (40009). App admins
 * pass the role checks (D4).
 */
export function memberUpdateHandlers(env: DomainEnv): UpdateHandlers {
  const groups = new GroupStore(env);
  return {
    async updateGroupMember(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const memberId = required(req.memberId, "member_id");
      const admin = await ctx.isAdmin();
      if (req.role !== undefined && req.role !== ROLE.MANAGER && req.role !== ROLE.ORDINARY) {
        throw ImError.of("PARAMETER_ERROR", "role must be MANAGER or ORDINARY");
      }
      const members = await groups.change(ctx.appId, groupId, async (tx) => {
        const group = await requireLiveGroup(tx, ctx.appId, groupId);
        const target = await requireMember(tx, ctx.appId, groupId, memberId);
        const me = admin ? null : await requireMember(tx, ctx.appId, groupId, ctx.operator);
        const leader = admin || me?.role === ROLE.OWNER || me?.role === ROLE.MANAGER;
        if ((req.alias !== undefined || req.extra !== undefined) && memberId !== ctx.operator && !leader) {
          throw ImError.of("THIS_OPERATE_NEED_ONESELF");
        }
        const data: Prisma.GroupMemberUpdateInput = { alias: req.alias, extra: req.extra };
        if (req.role !== undefined) {
          if (group.groupType === GROUP_TYPE.PRIVATE && !admin)
            throw ImError.of("THIS_OPERATE_NEED_APPMANAGER_ROLE");
          if (!admin && me?.role === ROLE.ORDINARY) throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
          if (!admin && me?.role !== ROLE.OWNER) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
          if (target.role === ROLE.OWNER) {
            throw ImError.of("PARAMETER_ERROR", "the owner's role changes by TransferGroup only");
          }
          data.role = req.role;
        }
        await tx.groupMember.update({ where: { groupMemberId: target.groupMemberId }, data });
        await bumpGroup(tx, ctx.appId, groupId, env.now());
        return currentMembers(tx, ctx.appId, groupId);
      });
      // D12: the owner, the managers (after the change) and the member, once each.
      const recipients = members
        .filter((m) => m.role === ROLE.OWNER || m.role === ROLE.MANAGER)
        .map((m) => m.memberId)
        .concat(memberId);
      const pack = UpdateGroupMemberPack.fromPartial({
        groupId,
        memberId,
        alias: req.alias,
        extra: req.extra,
        role: req.role,
      });
      await notify(env, ctx, recipients, Command.COMMAND_UPDATED_MEMBER, UpdateGroupMemberPack.toJSON(pack));
      return {};
    },

    async muteGroupMember(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const memberId = required(req.memberId, "member_id");
      const admin = await ctx.isAdmin();
      const now = env.now();
      const members = await groups.change(ctx.appId, groupId, async (tx) => {
        await requireLiveGroup(tx, ctx.appId, groupId);
        let myRole: number = ROLE.OWNER;
        if (!admin) {
          const me = await requireMember(tx, ctx.appId, groupId, ctx.operator).catch(() => {
            throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
          });
          if (me.role !== ROLE.OWNER && me.role !== ROLE.MANAGER)
            throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
          myRole = me.role;
        }
        const target = await requireMember(tx, ctx.appId, groupId, memberId);
        if (target.role === ROLE.OWNER)
          throw ImError.of("THIS_OPERATE_NEED_APPMANAGER_ROLE", "the owner cannot be muted");
        if (myRole === ROLE.MANAGER && target.role !== ROLE.ORDINARY)
          throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        // speak_date is "muted until" (epoch ms); a duration <= 0 unmutes.
        await tx.groupMember.update({
          where: { groupMemberId: target.groupMemberId },
          data: { speakDate: req.speakDate > 0 ? BigInt(now + req.speakDate) : 0n },
        });
        await bumpGroup(tx, ctx.appId, groupId, now);
        return currentMembers(tx, ctx.appId, groupId);
      });
      const pack = GroupMemberSpeakPack.toJSON({ groupId, memberId, speakDate: req.speakDate });
      await notifyInChunks(
        env,
        ctx,
        members.map((m) => m.memberId),
        Command.COMMAND_SPEAK_GROUP_MEMBER,
        pack,
      );
      return {};
    },
  };
}
