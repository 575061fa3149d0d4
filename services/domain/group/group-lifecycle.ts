import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import {
  DestroyGroupPack,
  MuteGroupPack,
  TransferGroupPack,
} from "../../../gen/ts/whaleshark/v1/group_pack.js";
import type { GroupServiceService } from "../../../gen/ts/whaleshark/v1/group_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { GroupStore } from "./group-store.js";
import {
  bumpGroup,
  currentMembers,
  GROUP_STATUS,
  muteValue,
  ROLE,
  requireLiveGroup,
  requireMember,
} from "./groups.js";

type LifecycleHandlers = Pick<
  Required<AppHandlers<typeof GroupServiceService>>,
  "destroyGroup" | "transferGroup" | "muteGroup"
>;

/**
 * Destroy, transfer and mute-all of GroupService (spec §6.3 #32–#34). An
 * app admin may do each without being a member (D4); everyone else needs the
 * role the spec names. Each takes a group sequence and notifies every
 * current member (transfer and mute sent nothing in the original: D33).
 */
export function groupLifecycleHandlers(env: DomainEnv): LifecycleHandlers {
  const groups = new GroupStore(env);
  return {
    async destroyGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const admin = await ctx.isAdmin();
      const { members, sequence } = await groups.change(ctx.appId, groupId, async (tx) => {
        const group = await requireLiveGroup(tx, ctx.appId, groupId);
        // D13: only the owner destroys a group, private or public.
        if (!admin && group.ownerId !== ctx.operator) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        const seq = await bumpGroup(tx, ctx.appId, groupId, env.now());
        await tx.group.update({
          where: { appId_groupId: { appId: ctx.appId, groupId } },
          data: { status: GROUP_STATUS.DESTROY },
        });
        return { members: await currentMembers(tx, ctx.appId, groupId), sequence: seq };
      });
      const pack = DestroyGroupPack.toJSON({ groupId, sequence });
      await notify(
        env,
        ctx,
        members.map((m) => m.memberId),
        Command.COMMAND_DESTROY_GROUP,
        pack,
      );
      env.callbacks.after(ctx.appId, "group.destory.after", { groupId });
      return {};
    },

    async transferGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const newOwner = required(req.ownerId, "owner_id");
      const admin = await ctx.isAdmin();
      const result = await groups.change(ctx.appId, groupId, async (tx) => {
        const group = await requireLiveGroup(tx, ctx.appId, groupId);
        if (!admin) {
          const me = await requireMember(tx, ctx.appId, groupId, ctx.operator);
          if (me.role !== ROLE.OWNER) throw ImError.of("THIS_OPERATE_NEED_OWNER_ROLE");
        }
        await requireMember(tx, ctx.appId, groupId, newOwner);
        if (group.ownerId === newOwner) return undefined;
        await tx.groupMember.updateMany({
          where: { appId: ctx.appId, groupId, role: ROLE.OWNER },
          data: { role: ROLE.ORDINARY },
        });
        await tx.groupMember.update({
          where: { appId_groupId_memberId: { appId: ctx.appId, groupId, memberId: newOwner } },
          data: { role: ROLE.OWNER },
        });
        await tx.group.update({
          where: { appId_groupId: { appId: ctx.appId, groupId } },
          data: { ownerId: newOwner },
        });
        await bumpGroup(tx, ctx.appId, groupId, env.now());
        return { oldOwner: group.ownerId, members: await currentMembers(tx, ctx.appId, groupId) };
      });
      if (result === undefined) return {};
      const pack = TransferGroupPack.toJSON({ groupId, ownerId: newOwner });
      await notify(
        env,
        ctx,
        result.members.map((m) => m.memberId),
        Command.COMMAND_TRANSFER_GROUP,
        pack,
      );
      env.callbacks.after(ctx.appId, "group.transfer.after", {
        groupId,
        ownerId: newOwner,
        oldOwnerId: result.oldOwner,
        operater: ctx.operator,
      });
      return {};
    },

    async muteGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const mute = muteValue(req.mute);
      const admin = await ctx.isAdmin();
      const members = await groups.change(ctx.appId, groupId, async (tx) => {
        await requireLiveGroup(tx, ctx.appId, groupId);
        if (!admin) {
          const me = await requireMember(tx, ctx.appId, groupId, ctx.operator).catch(() => {
            throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
          });
          if (me.role !== ROLE.OWNER && me.role !== ROLE.MANAGER)
            throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        }
        await tx.group.update({ where: { appId_groupId: { appId: ctx.appId, groupId } }, data: { mute } });
        await bumpGroup(tx, ctx.appId, groupId, env.now());
        return currentMembers(tx, ctx.appId, groupId);
      });
      const pack = MuteGroupPack.toJSON({ groupId, mute });
      await notify(
        env,
        ctx,
        members.map((m) => m.memberId),
        Command.COMMAND_MUTE_GROUP,
        pack,
      );
      return {};
    },
  };
}
