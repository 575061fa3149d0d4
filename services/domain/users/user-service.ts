import type { Prisma } from "../../../gen/prisma/client.js";
import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { UserModifyPack } from "../../../gen/ts/whaleshark/v1/user_pack.js";
import {
  ModifyUserInfoRequest,
  type UserServiceService,
} from "../../../gen/ts/whaleshark/v1/user_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import type { DomainEnv } from "../core/env.js";
import { num, ownerOrAdmin, requireAdmin, required } from "../core/guards.js";
import { notify } from "../core/notify.js";
import { readUserSequences } from "../core/sequences.js";
import { revokeTokens } from "./token-revocations.js";
import { UserStore } from "./user-store.js";
import { parseUserSex, requireUser, toUserData } from "./users.js";

/** The most users one import takes (spec §6.3 #1). */
export const IMPORT_USERS_MAX = 100;

/**
 * UserService (spec §6.3 #1, #2, #4–#7; user_service.proto). Imports and
 * deletes are for app admins; a user reads anyone's public profile and
 * modifies their own (an admin anyone's, and only an admin the
 * forbidden/silent flags). No password is accepted, stored, returned or
 * pushed (D27). RevokeTokens invalidates a user's tokens (a user their own,
 * an admin anyone's; token-revocations.ts). User rows are written by
 * user-store.ts, which bumps their change tokens.
 */
export function userHandlers(env: DomainEnv): AppHandlers<typeof UserServiceService> {
  const users = new UserStore(env);
  return {
    async importUsers(req, ctx) {
      await requireAdmin(ctx);
      if (req.userData.length > IMPORT_USERS_MAX) throw ImError.of("USER_IMPORT_SIZE_BEYOND");
      return users.importMany(ctx.appId, req.userData, (userId, error) =>
        ctx.log.debug({ err: error, userId }, "user not imported"),
      );
    },

    async deleteUsers(req, ctx) {
      await requireAdmin(ctx);
      const ids = [...new Set(req.userId)];
      const found = await users.markDeleted(ctx.appId, ids);
      return { successId: ids.filter((id) => found.has(id)), errorId: ids.filter((id) => !found.has(id)) };
    },

    async getUserSequence(req, ctx) {
      const userId = await ownerOrAdmin(ctx, req.userId);
      const db = await env.db();
      await requireUser(db, ctx.appId, userId);
      const sequences: Record<string, number> = { ...(await readUserSequences(db, ctx.appId, userId)) };
      // groupSeq: the newest change among the groups the user is or was in (D19: 0 for none, so
      // a device also learns about a group it was removed from).
      const groupIds = (
        await db.groupMember.findMany({
          where: { appId: ctx.appId, memberId: userId },
          select: { groupId: true },
        })
      ).map((m) => m.groupId);
      const max =
        groupIds.length === 0
          ? null
          : await db.group.aggregate({
              where: { appId: ctx.appId, groupId: { in: groupIds } },
              _max: { sequence: true },
            });
      sequences.groupSeq = num(max?._max.sequence);
      return { sequences };
    },

    async getUserInfo(req, ctx) {
      const db = await env.db();
      const ids = [...new Set(req.userIds)];
      const rows = await db.userData.findMany({
        where: { appId: ctx.appId, userId: { in: ids }, delFlag: 0 },
      });
      const found = new Set(rows.map((r) => r.userId));
      return { userDataItem: rows.map(toUserData), failUser: ids.filter((id) => !found.has(id)) };
    },

    async getSingleUserInfo(req, ctx) {
      const db = await env.db();
      return { userData: toUserData(await requireUser(db, ctx.appId, required(req.userId, "user_id"))) };
    },

    async modifyUserInfo(req, ctx) {
      const userId = await ownerOrAdmin(ctx, req.userId);
      if ((req.forbiddenFlag !== undefined || req.silentFlag !== undefined) && !(await ctx.isAdmin())) {
        throw ImError.of(
          "THIS_OPERATE_NEED_APPMANAGER_ROLE",
          "forbidden_flag and silent_flag are for app admins",
        );
      }
      const data: Prisma.UserDataUpdateManyMutationInput = {};
      // Absent = unchanged; a present empty string clears the field (user_service.proto).
      const text = (v: string | undefined) => (v === undefined ? undefined : v === "" ? null : v);
      data.nickName = text(req.nickName);
      data.location = text(req.location);
      data.birthDay = text(req.birthDay);
      data.photo = text(req.photo);
      data.selfSignature = text(req.selfSignature);
      data.extra = text(req.extra);
      if (req.userSex !== undefined) data.userSex = parseUserSex(req.userSex);
      if (req.friendAllowType !== undefined) {
        if (req.friendAllowType !== 1 && req.friendAllowType !== 2) {
          throw ImError.of("PARAMETER_ERROR", "friend_allow_type must be NOT_NEED or NEED");
        }
        data.friendAllowType = req.friendAllowType;
      }
      for (const flag of ["forbiddenFlag", "silentFlag"] as const) {
        const value = req[flag];
        if (value === undefined) continue;
        if (value !== 0 && value !== 1) throw ImError.of("PARAMETER_ERROR", `${flag} must be 0 or 1`);
        data[flag] = value;
      }
      await users.modify(ctx.appId, userId, data);

      const pack = UserModifyPack.fromPartial({
        userId,
        nickName: req.nickName,
        photo: req.photo,
        selfSignature: req.selfSignature,
        userSex: req.userSex,
        friendAllowType: req.friendAllowType,
      });
      await notify(env, ctx, [userId], Command.COMMAND_USER_MODIFY, UserModifyPack.toJSON(pack));
      env.callbacks.after(ctx.appId, "user.modify.after", ModifyUserInfoRequest.toJSON({ ...req, userId }));
      return {};
    },

    /**
     * The cut-off is the second after the current one: a token issued in this very second may
     * predate the call, and token times have whole seconds only, so it is refused too. The
     * revocation is in force (database and kv) before any connection is closed, so a client that
     * reconnects at once is refused. Closing is best effort: a node that cannot be reached is
     * logged, and its connections are refused at their next LOGIN.
     */
    async revokeTokens(req, ctx) {
      const userId = await ownerOrAdmin(ctx, req.userId);
      const db = await env.db();
      const cutoff = Math.floor(env.now() / 1000) + 1;
      const revokedBefore = await revokeTokens(db, env.kv, ctx.appId, userId, cutoff);
      let closedDevices = 0;
      try {
        closedDevices = (await env.pusher.closeUser(ctx.appId, userId)).length;
      } catch (error) {
        ctx.log.warn({ err: error, userId }, "revoked tokens, but could not close every connection");
      }
      ctx.log.info({ userId, revokedBefore, closedDevices }, "user tokens revoked");
      return { revokedBefore, closedDevices };
    },
  };
}
