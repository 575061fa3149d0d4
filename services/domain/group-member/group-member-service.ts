import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import {
  AddGroupMembersRequest,
  type GroupMemberServiceService,
  RemoveGroupMemberRequest,
} from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import {
  AddGroupMemberPack,
  ExitGroupPack,
  RemoveGroupMemberPack,
} from "../../../gen/ts/whaleshark/v1/group_pack.js";
import { ErrorCatalogue, ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { requireAdmin, required } from "../core/guards.js";
import { GroupStore } from "../group/group-store.js";
import {
  ADD_RESULT,
  type AddMemberOutcome,
  currentMembers,
  GROUP_TYPE,
  leaders,
  ROLE,
  requireGroup,
  requireLiveGroup,
  requireMember,
  toGroupMember,
} from "../group/groups.js";
import { addInChunks, notifyInChunks } from "./chunks.js";
import { joinRequestHandlers } from "./join-requests.js";
import { memberUpdateHandlers } from "./member-update.js";

/**
 * Adds `items` as an operator of `operatorRole` may: only the owner (or an admin, who acts as one)
 * hands out the manager role when adding; the others go to {@link GroupStore.addMembers}, in one
 * transaction. In list order.
 */
async function addAsOperator(
  groups: GroupStore,
  appId: number,
  groupId: string,
  items: readonly GroupMemberItem[],
  operatorRole: number,
  now: number,
): Promise<AddMemberOutcome[]> {
  const allowed = (item: GroupMemberItem) => item.role !== ROLE.MANAGER || operatorRole === ROLE.OWNER;
  const added = await groups.addMembers(appId, groupId, items.filter(allowed), { now, fromStart: false });
  let next = 0;
  return items.map((item) =>
    allowed(item)
      ? (added[next++] as AddMemberOutcome)
      : {
          memberId: item.memberId,
          result: ADD_RESULT.FAIL,
          resultMessage: ErrorCatalogue.THIS_OPERATE_NEED_OWNER_ROLE.message,
        },
  );
}

/**
 * GroupMemberService (spec §6.3 #37–#41, group_member_service.proto).
 * Every membership change is a GroupStore method (group/group-store.ts): it
 * checks the rules that read the rows it changes (a destroyed group refuses
 * changes, D13; the roles), takes a group sequence (D19) and bumps the group's
 * change token. Notifications reach the intended recipients once each (D12),
 * the operator's calling device skipped (D30). Update and mute are in
 * member-update.ts. Lists of members are added in chunks, a transaction
 * each, with the event loop yielded between them, and abandoned once the
 * caller's deadline has passed; notifications to many go out in chunks
 * (chunks.ts).
 */
export function groupMemberHandlers(env: DomainEnv): AppHandlers<typeof GroupMemberServiceService> {
  const groups = new GroupStore(env);
  return {
    ...memberUpdateHandlers(env),
    ...joinRequestHandlers(env),

    async importGroupMembers(req, ctx) {
      await requireAdmin(ctx);
      const groupId = required(req.groupId, "group_id");
      await requireLiveGroup(await env.db(), ctx.appId, groupId);
      const opts = { now: env.now(), fromStart: true, keepJoinTime: true };
      const { results, stopped } = await addInChunks(ctx, req.members, (chunk) =>
        groups.addMembers(ctx.appId, groupId, chunk, opts),
      );
      if (stopped !== undefined) throw stopped;
      return { results };
    },

    async addGroupMembers(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const admin = await ctx.isAdmin();
      const db = await env.db();
      const group = await requireLiveGroup(db, ctx.appId, groupId);
      let operatorRole: number = ROLE.OWNER;
      if (!admin) {
        // D13: private groups take members from their members; public groups (D4: not from anyone)
        // from their owner and managers (issue 16), whom addAsOperator holds to their role.
        operatorRole = (await requireMember(db, ctx.appId, groupId, ctx.operator)).role;
        if (group.groupType === GROUP_TYPE.PUBLIC && operatorRole === ROLE.ORDINARY) {
          throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
        }
      }
      let items = req.members;
      const replacement = await env.callbacks.before(
        ctx.appId,
        "group.member.add.before",
        AddGroupMembersRequest.toJSON(req),
      );
      if (Array.isArray(replacement)) items = replacement.map((m) => GroupMemberItem.fromJSON(m));
      const { results, stopped } = await addInChunks(ctx, items, (chunk) =>
        addAsOperator(groups, ctx.appId, groupId, chunk, operatorRole, env.now()),
      );
      // Also when it stopped half-way: what was committed is reported to the devices and the app.
      const added = results.filter((r) => r.result === ADD_RESULT.SUCCESS).map((r) => r.memberId);
      if (added.length > 0) {
        const members = await currentMembers(db, ctx.appId, groupId);
        const pack = AddGroupMemberPack.toJSON({ groupId, members: added });
        await notifyInChunks(env, ctx, [...leaders(members), ...added], Command.COMMAND_ADDED_MEMBER, pack);
      }
      env.callbacks.after(ctx.appId, "group.member.add.after", {
        groupId,
        groupType: group.groupType,
        operater: ctx.operator,
        memberId: results,
      });
      if (stopped !== undefined) throw stopped;
      return { results };
    },

    async removeGroupMember(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const memberId = required(req.memberId, "member_id");
      const admin = await ctx.isAdmin();
      const members = await groups.removeMember(ctx.appId, groupId, { id: ctx.operator, admin }, memberId);
      // D12: every member and the removed one, once each.
      const pack = RemoveGroupMemberPack.toJSON({ groupId, member: memberId });
      await notifyInChunks(
        env,
        ctx,
        [...members.map((m) => m.memberId), memberId],
        Command.COMMAND_DELETED_MEMBER,
        pack,
      );
      env.callbacks.after(ctx.appId, "group.member.delete.after", RemoveGroupMemberRequest.toJSON(req));
      return {};
    },

    async getGroupMembers(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const db = await env.db();
      await requireGroup(db, ctx.appId, groupId);
      if (!(await ctx.isAdmin())) await requireMember(db, ctx.appId, groupId, ctx.operator);
      return { members: (await currentMembers(db, ctx.appId, groupId)).map(toGroupMember) };
    },

    async leaveGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const members = await groups.exit(ctx.appId, groupId, ctx.operator);
      const pack = ExitGroupPack.toJSON({ groupId, userId: ctx.operator });
      await notifyInChunks(
        env,
        ctx,
        [...members.map((m) => m.memberId), ctx.operator],
        Command.COMMAND_EXIT_GROUP,
        pack,
      );
      return {};
    },
  };
}
