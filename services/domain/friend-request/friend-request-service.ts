import type { Prisma } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { ApproveStatus } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { FriendRequestServiceService } from "../../../gen/ts/whaleshark/v1/friend_request_service.js";
import {
  ApproveFriendRequestPack,
  ReadAllFriendRequestPack,
} from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { num, ownerOrAdmin, pageSize } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { nextUserSequence } from "../core/sequences.js";
import { syncWindow } from "../core/sync.js";
import { transaction } from "../core/tx.js";
import { makeFriends } from "../friendship/add-friend.js";
import { toFriendRequest } from "./friend-requests.js";

/**
 * FriendRequestService (spec §6.3 #20–#22, friend_request_service.proto).
 * Requests are created by FriendshipService.AddFriend. A request is seen by
 * both users, so each change takes one sequence above both users' request
 * counters (core/sequences).
 */
export function friendRequestHandlers(env: DomainEnv): AppHandlers<typeof FriendRequestServiceService> {
  return {
    async approveFriendRequest(req, ctx) {
      if (
        req.status !== ApproveStatus.APPROVE_STATUS_AGREE &&
        req.status !== ApproveStatus.APPROVE_STATUS_REJECT
      ) {
        throw ImError.of("PARAMETER_ERROR", "status must be AGREE or REJECT");
      }
      const db = await env.db();
      const request = await db.friendshipRequest.findFirst({
        where: { id: BigInt(req.id), appId: ctx.appId, approveStatus: ApproveStatus.APPROVE_STATUS_PENDING },
      });
      if (request === null) throw ImError.of("FRIEND_REQUEST_IS_NOT_EXIST");
      if (request.toId !== ctx.operator) throw ImError.of("NOT_APPROVER_OTHER_MAN_REQUEST");
      if (req.status === ApproveStatus.APPROVE_STATUS_AGREE) {
        // The friendship first: when it is refused (a blacklist), the request stays pending.
        await makeFriends(
          env,
          ctx,
          request.fromId,
          {
            toId: request.toId,
            remark: request.remark ?? undefined,
            addSource: request.addSource ?? undefined,
            addWording: request.addWording ?? undefined,
          },
          { alreadyFriendsOk: true },
        );
      }
      const sequence = await transaction(db, async (tx) => {
        const seq = await nextUserSequence(
          tx,
          ctx.appId,
          "friendShipRequestSeq",
          request.fromId,
          request.toId,
        );
        const { count } = await tx.friendshipRequest.updateMany({
          where: { id: request.id, approveStatus: ApproveStatus.APPROVE_STATUS_PENDING },
          data: { approveStatus: req.status, sequence: BigInt(seq), updateTime: BigInt(env.now()) },
        });
        // Another call decided it meanwhile.
        if (count !== 1) throw ImError.of("FRIEND_REQUEST_IS_NOT_EXIST");
        return seq;
      });
      const pack = ApproveFriendRequestPack.fromPartial({ id: req.id, sequence, status: req.status });
      await notify(
        env,
        ctx,
        [request.toId],
        Command.COMMAND_FRIEND_REQUEST_APPROVER,
        ApproveFriendRequestPack.toJSON(pack),
      );
      return {};
    },

    async getFriendRequests(req, ctx) {
      const toId = await ownerOrAdmin(ctx, req.fromId);
      const db = await env.db();
      const where = { appId: ctx.appId, toId };
      const [totalCount, rows] = await Promise.all([
        db.friendshipRequest.count({ where }),
        db.friendshipRequest.findMany({
          where,
          orderBy: { id: "desc" },
          take: pageSize(req.limit),
          skip: Math.max(0, req.offset),
        }),
      ]);
      return { totalCount, friendRequests: rows.map(toFriendRequest) };
    },

    async readFriendRequests(req, ctx) {
      const toId = await ownerOrAdmin(ctx, req.fromId);
      const db = await env.db();
      const sequence = await transaction(db, async (tx) => {
        const where: Prisma.FriendshipRequestWhereInput = { appId: ctx.appId, toId, readStatus: 0 };
        // D35: the given ids only; all unread ones when none are given.
        if (req.ids.length > 0) where.id = { in: req.ids.map((id) => BigInt(id)) };
        const unread = await tx.friendshipRequest.findMany({ where, orderBy: { id: "asc" } });
        let seq = 0;
        for (const row of unread) {
          seq = await nextUserSequence(tx, ctx.appId, "friendShipRequestSeq", row.fromId, row.toId);
          await tx.friendshipRequest.update({
            where: { id: row.id },
            data: { readStatus: 1, sequence: BigInt(seq), updateTime: BigInt(env.now()) },
          });
        }
        return seq;
      });
      if (sequence > 0) {
        const pack = ReadAllFriendRequestPack.fromPartial({ fromId: toId, sequence });
        await notify(
          env,
          ctx,
          [toId],
          Command.COMMAND_FRIEND_REQUEST_READ,
          ReadAllFriendRequestPack.toJSON(pack),
        );
      }
      return {};
    },

    async syncFriendRequests(req, ctx) {
      const db = await env.db();
      const window = syncWindow(req.lastSequence, req.maxLimit);
      const where = { appId: ctx.appId, OR: [{ toId: ctx.operator }, { fromId: ctx.operator }] };
      const rows = await db.friendshipRequest.findMany({
        where: { ...where, sequence: { gt: window.after } },
        orderBy: { sequence: "asc" },
        take: window.take,
      });
      const max = await db.friendshipRequest.aggregate({ where, _max: { sequence: true } });
      const page = window.page(rows);
      return {
        maxSequence: num(max._max.sequence),
        completed: page.completed,
        dataList: page.dataList.map(toFriendRequest),
      };
    },
  };
}
