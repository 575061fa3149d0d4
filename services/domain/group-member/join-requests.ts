import type { Group as GroupRow, GroupJoinRequest as RequestRow } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { GroupMemberItem } from "../../../gen/ts/whaleshark/v1/common.js";
import { JoinRequestStatus } from "../../../gen/ts/whaleshark/v1/enums.js";
import type {
  GroupJoinRequest,
  GroupMemberServiceService,
} from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import { AddGroupMemberPack, JoinGroupPack } from "../../../gen/ts/whaleshark/v1/group_pack.js";
import { ErrorCatalogue, ImError, isImError } from "../../../lib/errors/index.js";
import type { AppHandlers, RequestContext } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { required } from "../core/guards.js";
import { GroupStore } from "../group/group-store.js";
import {
  ADD_RESULT,
  currentMembers,
  findMember,
  leaders,
  requireGroup,
  requireLiveGroup,
} from "../group/groups.js";
import { requireUser } from "../users/users.js";
import { addInChunks, notifyInChunks } from "./chunks.js";

/** `apply_join_type` (im_group): who may ask to join. */
export const APPLY_JOIN = { FORBIDDEN: 0, APPROVAL: 1, FREE: 2 } as const;

/** Longest remark an applicant may write, in characters (the column). */
const MAX_REMARK = 200;
/** Most requests one GetJoinRequests answers. */
const MAX_LIST = 100;

type JoinHandlers = Pick<
  AppHandlers<typeof GroupMemberServiceService>,
  "applyJoinGroup" | "getJoinRequests" | "decideJoinRequest"
>;

/**
 * Joining groups (issue 16; the original defined JOIN_GROUP 2000 and enforced neither
 * apply_join_type nor max_member_count, D33). A user asks to join as themself; the group's
 * apply_join_type decides: nobody may (40019), a request its owner and managers decide on, or
 * free to join. A request is one row per applicant and group (im_group_join_request); asking
 * again while it is pending refreshes the remark, asking after a decision reopens it. Joining,
 * by right or by approval, goes through the same member add as AddGroupMembers (the group's
 * max_member_count, 40005; the joiner's conversation; one group sequence), and is told like it
 * (2001 ADDED_MEMBER to the leaders and the new member). Leaving works as before (LeaveGroup).
 */
export function joinRequestHandlers(env: DomainEnv): JoinHandlers {
  const groups = new GroupStore(env);

  /** Adds `memberId` as an ordinary member; throws what refused it (40005, 40003, 20001). */
  async function join(ctx: RequestContext, groupId: string, memberId: string): Promise<void> {
    const { results, stopped } = await addInChunks(ctx, [memberId], (ids) =>
      groups.addMembers(
        ctx.appId,
        groupId,
        ids.map((id) => GroupMemberItem.fromPartial({ memberId: id })),
        { now: env.now(), fromStart: false },
      ),
    );
    if (stopped !== undefined) throw stopped;
    const outcome = results[0];
    if (outcome?.result !== ADD_RESULT.SUCCESS) throw refusalOf(outcome?.resultMessage);
    const members = await currentMembers(await env.db(), ctx.appId, groupId);
    const pack = AddGroupMemberPack.toJSON({ groupId, members: [memberId] });
    await notifyInChunks(env, ctx, [...leaders(members), memberId], Command.COMMAND_ADDED_MEMBER, pack);
  }

  /** Checks the caller is the group's owner, one of its managers or an app admin (40007). */
  async function requireLeader(ctx: RequestContext, group: GroupRow): Promise<void> {
    const members = await currentMembers(await env.db(), ctx.appId, group.groupId);
    if (!leaders(members).includes(ctx.operator) && !(await ctx.isAdmin())) {
      throw ImError.of("THIS_OPERATE_NEED_MANAGER_ROLE");
    }
  }

  return {
    async applyJoinGroup(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const remark = req.remark;
      if ([...remark].length > MAX_REMARK) {
        throw ImError.of("PARAMETER_ERROR", `remark is longer than ${MAX_REMARK} characters`);
      }
      const db = await env.db();
      const group = await requireLiveGroup(db, ctx.appId, groupId);
      await requireUser(db, ctx.appId, ctx.operator);
      if ((await findMember(db, ctx.appId, groupId, ctx.operator)) !== null) {
        throw ImError.of("USER_IS_JOINED_GROUP");
      }
      if (group.applyJoinType === APPLY_JOIN.FREE) {
        await join(ctx, groupId, ctx.operator);
        return { joined: true };
      }
      if (group.applyJoinType !== APPLY_JOIN.APPROVAL) throw ImError.of("GROUP_FORBID_APPLY");
      const now = BigInt(env.now());
      const key = { appId: ctx.appId, groupId, applicantId: ctx.operator };
      await db.groupJoinRequest.upsert({
        where: { appId_groupId_applicantId: key },
        create: {
          ...key,
          remark,
          status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING,
          createTime: now,
          updateTime: now,
        },
        update: {
          remark,
          status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING,
          handledBy: null,
          updateTime: now,
        },
      });
      const members = await currentMembers(db, ctx.appId, groupId);
      const pack = JoinGroupPack.toJSON({
        groupId,
        memberId: ctx.operator,
        remark,
        status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING,
      });
      await notifyInChunks(env, ctx, leaders(members), Command.COMMAND_JOIN_GROUP, pack);
      return { joined: false };
    },

    async getJoinRequests(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const db = await env.db();
      const group = await requireGroup(db, ctx.appId, groupId);
      await requireLeader(ctx, group);
      const take = req.maxLimit > 0 ? Math.min(req.maxLimit, MAX_LIST) : MAX_LIST;
      const rows = await db.groupJoinRequest.findMany({
        where: { appId: ctx.appId, groupId, status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING },
        orderBy: [{ createTime: "asc" }, { applicantId: "asc" }],
        take,
      });
      return { requests: rows.map(toJoinRequest) };
    },

    async decideJoinRequest(req, ctx) {
      const groupId = required(req.groupId, "group_id");
      const applicantId = required(req.applicantId, "applicant_id");
      const db = await env.db();
      const group = await requireLiveGroup(db, ctx.appId, groupId);
      await requireLeader(ctx, group);
      const key = { appId: ctx.appId, groupId, applicantId };
      const request = await db.groupJoinRequest.findUnique({ where: { appId_groupId_applicantId: key } });
      if (request?.status !== JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING) {
        throw ImError.of("JOIN_REQUEST_IS_NOT_EXIST", applicantId);
      }
      if (req.approve) {
        // A full group leaves the request pending (40005): a leader may free a place and approve again.
        await join(ctx, groupId, applicantId).catch((error: unknown) => {
          // Joined meanwhile (added by a leader, or free joining switched on): approving is moot.
          if (isImError(error) && error.code === ErrorCatalogue.USER_IS_JOINED_GROUP.code) return;
          throw error;
        });
      }
      const status = req.approve
        ? JoinRequestStatus.JOIN_REQUEST_STATUS_APPROVED
        : JoinRequestStatus.JOIN_REQUEST_STATUS_REJECTED;
      // Only a request still pending is decided: two leaders deciding at once, the first wins.
      const decided = await db.groupJoinRequest.updateMany({
        where: { ...key, status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING },
        data: { status, handledBy: ctx.operator, updateTime: BigInt(env.now()) },
      });
      if (decided.count === 0 && !req.approve) throw ImError.of("JOIN_REQUEST_IS_NOT_EXIST", applicantId);
      if (!req.approve) {
        const pack = JoinGroupPack.toJSON({
          groupId,
          memberId: applicantId,
          remark: request.remark ?? "",
          status,
        });
        await notifyInChunks(env, ctx, [applicantId], Command.COMMAND_JOIN_GROUP, pack);
      }
      return {};
    },
  };
}

/** The error a refused add names in its outcome (addMembers reports refusals by message). */
function refusalOf(message: string | undefined): ImError {
  for (const name of ["GROUP_MEMBER_IS_BEYOND", "USER_IS_JOINED_GROUP", "USER_IS_NOT_EXIST"] as const) {
    if (message === ErrorCatalogue[name].message) return ImError.of(name);
  }
  return ImError.of("USER_JOIN_GROUP_ERROR");
}

function toJoinRequest(row: RequestRow): GroupJoinRequest {
  return {
    groupId: row.groupId,
    applicantId: row.applicantId,
    remark: row.remark ?? "",
    status: row.status,
    handledBy: row.handledBy ?? "",
    createTime: Number(row.createTime),
    updateTime: Number(row.updateTime),
  };
}
