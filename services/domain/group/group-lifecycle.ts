import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import {
  DestroyGroupPack,
  MuteGroupPack,
  TransferGroupPack,
} from "../../../gen/ts/whaleshark/v1/group_pack.js";
import type { GroupServiceService } from "../../../gen/ts/whaleshark/v1/group_service.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { GroupStore } from "./group-store.js";
import { muteValue } from "./groups.js";

type LifecycleHandlers = Pick<
  Required<AppHandlers<typeof GroupServiceService>>,
  "destroyGroup" | "transferGroup" | "muteGroup"
>;

/**
 * Destroy, transfer and mute-all of GroupService (spec §6.3 #32–#34). An
 * app admin may do each without being a member (D4); everyone else needs the
 * role the spec names (checked by GroupStore, group-store.ts, on the rows it
 * changes). Each takes a group sequence and notifies every current member
 * (transfer and mute sent nothing in the original: D33).
 */
export function groupLifecycleHandlers(env: DomainEnv): LifecycleHandlers {
  const groups = new GroupStore(env);
  return {
    async destroyGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const admin = await ctx.isAdmin();
      const { members, sequence } = await groups.destroy(ctx.appId, groupId, { id: ctx.operator, admin });
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
      const result = await groups.transferOwnership(
        ctx.appId,
        groupId,
        { id: ctx.operator, admin },
        newOwner,
      );
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
      const members = await groups.setMute(ctx.appId, groupId, { id: ctx.operator, admin }, mute);
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
