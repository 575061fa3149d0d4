import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AddBlackRequest,
  DeleteAllFriendsRequest,
  DeleteFriendRequest,
} from "../../gen/ts/whaleshark/v1/friendship_service.js";
import {
  LeaveGroupRequest,
  MuteGroupMemberRequest,
  RemoveGroupMemberRequest,
} from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { MuteGroupRequest } from "../../gen/ts/whaleshark/v1/group_service.js";
import { DeleteUsersRequest, ModifyUserInfoRequest } from "../../gen/ts/whaleshark/v1/user_service.js";
import { ErrorCatalogue, type ErrorName, isImError } from "../../lib/errors/index.js";
import type { RequestContext } from "../../lib/grpc/serve.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import { friendshipHandlers } from "../../services/domain/friendship/friendship-service.js";
import { groupHandlers } from "../../services/domain/group/group-service.js";
import { groupMemberHandlers } from "../../services/domain/group-member/group-member-service.js";
import { userHandlers } from "../../services/domain/users/user-service.js";
import { APP, type MessagingHarness, startMessagingHarness } from "./messaging-harness.js";

/**
 * Every write path that changes what the send check reads stops the next send on ANOTHER domain
 * process at once (issue 19: no cache-token bump is written by hand in a handler, so none can be
 * forgotten). Two domain processes' send paths (two Messaging instances, each with its own
 * permission and member caches) share one kv and one database. For each path: both processes send
 * once (each caches the rows), the write goes through the service handler on the first, and the
 * very next send on the second is refused with the check's code. The caches keep a copy up to a
 * minute, far longer than a test, so only the change token can make the second see the write.
 */

let first: MessagingHarness;
let second: MessagingHarness;
let n = 0;

/** An app admin's call on the first process, as the gRPC layer would describe it. */
const admin: RequestContext = {
  appId: APP,
  operator: "root",
  identifier: "root",
  device: { clientType: 0, imei: "" },
  isAdmin: async () => true,
  log: pino({ level: "silent" }),
};

/** A P2P (or, with `group`, a group) send on `process`; resolves with "sent" or the refusal's code. */
async function send(process: MessagingHarness, fromId: string, toId: string, group = false) {
  try {
    await process.messaging.send({
      conversationType: group ? GROUP : P2P,
      appId: APP,
      fromId,
      toId,
      messageId: `m-${++n}`,
      messageBody: "hello",
      messageTime: 0,
      extra: "",
      device: { clientType: 3, imei: "phone" },
    });
    return "sent";
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

const code = (name: ErrorName) => ErrorCatalogue[name].code;

/** Both processes send (and cache the rows), `write` runs on the first, the second's next send is refused. */
async function expectStoppedOnSecond(
  fromId: string,
  toId: string,
  opts: { group?: boolean; refusal: ErrorName },
  write: () => Promise<unknown> | undefined,
): Promise<void> {
  expect(await send(first, fromId, toId, opts.group)).toBe("sent");
  expect(await send(second, fromId, toId, opts.group)).toBe("sent");
  const written = write();
  expect(written, "the handler exists").toBeDefined();
  await written;
  expect(await send(second, fromId, toId, opts.group)).toBe(code(opts.refusal));
}

beforeAll(async () => {
  first = await startMessagingHarness();
  // The second process: its own Messaging, caches and change-token reader over the same kv and
  // database (the first closes them).
  second = await startMessagingHarness({
    kv: first.kv,
    database: async () => ({ ...first.database, close: async () => {} }),
  });
  const pairs = [
    ["a1", "b1"],
    ["a2", "b2"],
    ["a3", "b3"],
    ["a4", "b4"],
    ["a5", "b5"],
    ["a6", "b6"],
    ["a7", "b7"],
    ["a8", "b8"],
  ];
  await first.users(["root", ...pairs.flat(), "owner", "m1", "m2", "m3", "m4", "m5"]);
  for (const [a, b] of pairs) await first.friends(a as string, b as string);
  await first.group("g-mute", ["owner", "m1"]);
  await first.group("g-member-mute", ["owner", "m2"]);
  await first.group("g-remove", ["owner", "m3"]);
  await first.group("g-leave", ["owner", "m4"]);
  await first.group("g-control", ["owner", "m5"]);
});

afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe("a write on one domain process stops the next send on another", () => {
  it("control: a row changed behind the services' back (no bump) is not seen, so the cache is what is tested", async () => {
    expect(await send(second, "a8", "b8")).toBe("sent");
    await first.database.db.friendship.update({
      where: { appId_fromId_toId: { appId: APP, fromId: "a8", toId: "b8" } },
      data: { status: 2 },
    });
    expect(await send(second, "a8", "b8")).toBe("sent");
    expect(await send(second, "m5", "g-control", true)).toBe("sent");
    await first.database.db.group.update({
      where: { appId_groupId: { appId: APP, groupId: "g-control" } },
      data: { mute: 1 },
    });
    expect(await send(second, "m5", "g-control", true)).toBe("sent");
  });

  it("block (FriendshipService.AddBlack): the blocked sender is refused (30007)", async () => {
    await expectStoppedOnSecond("b1", "a1", { refusal: "TARGET_IS_BLACK_YOU" }, () =>
      friendshipHandlers(first.env).addBlack?.(
        AddBlackRequest.fromPartial({ fromId: "a1", toId: "b1" }),
        admin,
      ),
    );
  });

  it("delete friend (FriendshipService.DeleteFriend): 30004", async () => {
    await expectStoppedOnSecond("a2", "b2", { refusal: "FRIEND_IS_DELETED" }, () =>
      friendshipHandlers(first.env).deleteFriend?.(
        DeleteFriendRequest.fromPartial({ fromId: "a2", toId: "b2" }),
        admin,
      ),
    );
  });

  it("delete all friends (FriendshipService.DeleteAllFriends): 30004", async () => {
    await expectStoppedOnSecond("a3", "b3", { refusal: "FRIEND_IS_DELETED" }, () =>
      friendshipHandlers(first.env).deleteAllFriends?.(
        DeleteAllFriendsRequest.fromPartial({ fromId: "a3" }),
        admin,
      ),
    );
  });

  it("user forbidden (UserService.ModifyUserInfo forbidden_flag): 50003", async () => {
    await expectStoppedOnSecond("a4", "b4", { refusal: "FROMER_IS_FORBIBBEN" }, () =>
      userHandlers(first.env).modifyUserInfo?.(
        ModifyUserInfoRequest.fromPartial({ userId: "a4", forbiddenFlag: 1 }),
        admin,
      ),
    );
  });

  it("user silenced (UserService.ModifyUserInfo silent_flag): 50002", async () => {
    await expectStoppedOnSecond("a5", "b5", { refusal: "FROMER_IS_MUTE" }, () =>
      userHandlers(first.env).modifyUserInfo?.(
        ModifyUserInfoRequest.fromPartial({ userId: "a5", silentFlag: 1 }),
        admin,
      ),
    );
  });

  it("receiver deleted (UserService.DeleteUsers): 20001", async () => {
    await expectStoppedOnSecond("a6", "b6", { refusal: "USER_IS_NOT_EXIST" }, () =>
      userHandlers(first.env).deleteUsers?.(DeleteUsersRequest.fromPartial({ userId: ["b6"] }), admin),
    );
  });

  it("group muted (GroupService.MuteGroup): an ordinary member is refused (40012)", async () => {
    await expectStoppedOnSecond("m1", "g-mute", { group: true, refusal: "THIS_GROUP_IS_MUTE" }, () =>
      groupHandlers(first.env).muteGroup?.(
        MuteGroupRequest.fromPartial({ groupId: "g-mute", mute: 1 }),
        admin,
      ),
    );
  });

  it("member muted (GroupMemberService.MuteGroupMember): 40017", async () => {
    await expectStoppedOnSecond(
      "m2",
      "g-member-mute",
      { group: true, refusal: "GROUP_MEMBER_IS_SPEAK" },
      () =>
        groupMemberHandlers(first.env).muteGroupMember?.(
          MuteGroupMemberRequest.fromPartial({
            groupId: "g-member-mute",
            memberId: "m2",
            speakDate: 3_600_000,
          }),
          admin,
        ),
    );
  });

  it("member removed (GroupMemberService.RemoveGroupMember): 40006", async () => {
    await expectStoppedOnSecond(
      "m3",
      "g-remove",
      { group: true, refusal: "MEMBER_IS_NOT_JOINED_GROUP" },
      () =>
        groupMemberHandlers(first.env).removeGroupMember?.(
          RemoveGroupMemberRequest.fromPartial({ groupId: "g-remove", memberId: "m3" }),
          admin,
        ),
    );
  });

  it("member left (GroupMemberService.LeaveGroup): 40006", async () => {
    const member: RequestContext = { ...admin, operator: "m4", identifier: "m4", isAdmin: async () => false };
    await expectStoppedOnSecond("m4", "g-leave", { group: true, refusal: "MEMBER_IS_NOT_JOINED_GROUP" }, () =>
      groupMemberHandlers(first.env).leaveGroup?.(
        LeaveGroupRequest.fromPartial({ groupId: "g-leave" }),
        member,
      ),
    );
  });
});
