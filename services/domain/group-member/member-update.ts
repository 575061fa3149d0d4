import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import type { GroupMemberServiceService } from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupMemberSpeakPack, UpdateGroupMemberPack } from "../../../gen/ts/whaleshark/v1/group_pack.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { GroupStore } from "../group/group-store.js";
import { ROLE } from "../group/groups.js";
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
 * pass the role checks (D4). The role parameter is checked here; the rules
 * that read rows run in GroupStore (group/group-store.ts), on the rows it changes.
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
      const members = await groups.updateMember(ctx.appId, groupId, { id: ctx.operator, admin }, memberId, {
        alias: req.alias,
        extra: req.extra,
        role: req.role,
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
      const members = await groups.muteMember(
        ctx.appId,
        groupId,
        { id: ctx.operator, admin },
        memberId,
        req.speakDate,
      );
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
