import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApproveStatus } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendRequestServiceService } from "../../gen/ts/whaleshark/v1/friend_request_service.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(() => h?.close());

/** `a` asks `b` (who needs verification); both online on web and ios. */
async function requested(prefix: string) {
  const a = h.id(`${prefix}-a`);
  const b = h.id(`${prefix}-b`);
  await h.users([a, b], { friendAllowType: 2 });
  for (const u of [a, b]) {
    await h.online(u, 1, "web");
    await h.online(u, 2, "ios");
  }
  await h
    .as(FriendshipServiceService, a)
    .addFriend({ toItem: { toId: b, remark: "from a", addSource: "search" } });
  const request = await h.db.friendshipRequest.findFirstOrThrow({ where: { fromId: a, toId: b } });
  await h.pushes();
  return {
    a,
    b,
    id: Number(request.id),
    asA: h.as(FriendRequestServiceService, a),
    asB: h.as(FriendRequestServiceService, b),
  };
}

describe("FriendRequestService", () => {
  it("approves: friends on both sides, 3000 to both and 3005 to the approver's other devices", async () => {
    const { a, b, id, asB } = await requested("agree");
    await asB.approveFriendRequest({
      id,
      status: ApproveStatus.APPROVE_STATUS_AGREE,
      clientType: 1,
      imei: "web",
    });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      status: 1,
      remark: "from a",
    });
    expect((await h.db.friendship.findFirstOrThrow({ where: { fromId: b, toId: a } })).status).toBe(1);
    const request = await h.db.friendshipRequest.findFirstOrThrow({ where: { id: BigInt(id) } });
    expect(request.approveStatus).toBe(1);
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId === a ? "a" : "b"}/${p.imei}/${p.command}`).sort()).toEqual(
      ["a/ios/3000", "a/web/3000", "b/ios/3000", "b/ios/3005"].sort(),
    );
    expect(pushes.find((p) => p.command === 3005)?.data).toEqual({
      id,
      sequence: Number(request.sequence),
      status: 1,
    });
    await expectCode(
      asB.approveFriendRequest({ id, status: ApproveStatus.APPROVE_STATUS_AGREE }),
      30012,
      status.NOT_FOUND,
    );
  });

  it("rejects without a friendship; only the receiver may decide (30011); bad status 90001", async () => {
    const { a, id, asA, asB } = await requested("reject");
    await expectCode(
      asA.approveFriendRequest({ id, status: ApproveStatus.APPROVE_STATUS_AGREE }),
      30011,
      status.PERMISSION_DENIED,
    );
    await expectCode(asB.approveFriendRequest({ id, status: ApproveStatus.APPROVE_STATUS_PENDING }), 90001);
    await asB.approveFriendRequest({ id, status: ApproveStatus.APPROVE_STATUS_REJECT });
    expect(await h.db.friendship.count({ where: { fromId: a } })).toBe(0);
    expect((await h.db.friendshipRequest.findFirstOrThrow({ where: { id: BigInt(id) } })).approveStatus).toBe(
      2,
    );
    await expectCode(
      asB.approveFriendRequest({ id: 999_999_999, status: ApproveStatus.APPROVE_STATUS_REJECT }),
      30012,
    );
    await h.pushes();
  });

  it("lists the received requests newest first with paging", async () => {
    const { b, asB } = await requested("list");
    const c = h.id("list-c");
    await h.users([c]);
    await h.as(FriendshipServiceService, c).addFriend({ toItem: { toId: b } });
    const all = await asB.getFriendRequests({});
    expect(all.totalCount).toBe(2);
    expect(all.friendRequests.map((r) => r.fromId)).toEqual([c, h.id("list-a")]);
    const page = await asB.getFriendRequests({ limit: 1, offset: 1 });
    expect(page.friendRequests.map((r) => r.fromId)).toEqual([h.id("list-a")]);
    await expectCode(h.as(FriendRequestServiceService, c).getFriendRequests({ fromId: b }), 60005);
    await h.pushes();
  });

  it("marks given or all requests read, each with a sequence, and pushes 3004", async () => {
    const { b, id, asB } = await requested("read");
    const c = h.id("read-c");
    await h.users([c]);
    await h.as(FriendshipServiceService, c).addFriend({ toItem: { toId: b } });
    await h.pushes();
    await asB.readFriendRequests({ ids: [id], clientType: 2, imei: "ios" });
    const rows = await h.db.friendshipRequest.findMany({ where: { toId: b }, orderBy: { id: "asc" } });
    expect(rows.map((r) => r.readStatus)).toEqual([1, 0]);
    const pushes = await h.pushes();
    expect(pushes).toEqual([
      { userId: b, imei: "web", command: 3004, data: { fromId: b, sequence: Number(rows[0]?.sequence) } },
    ]);
    await asB.readFriendRequests({});
    expect(
      (await h.db.friendshipRequest.findMany({ where: { toId: b } })).every((r) => r.readStatus === 1),
    ).toBe(true);
    await asB.readFriendRequests({}); // nothing unread: no push
    expect(await h.pushes()).toHaveLength(2);
  });

  it("syncs the requests a user received or sent, in sequence order", async () => {
    const { a, b, id, asA, asB } = await requested("sync");
    const c = h.id("sync-c");
    await h.users([c], { friendAllowType: 2 });
    await h.as(FriendshipServiceService, a).addFriend({ toItem: { toId: c } });
    await asB.approveFriendRequest({ id, status: ApproveStatus.APPROVE_STATUS_REJECT });
    const page = await asA.syncFriendRequests({ lastSequence: 0, maxLimit: 1 });
    expect(page.completed).toBe(false);
    const rest = await asA.syncFriendRequests({ lastSequence: page.dataList[0]?.sequence ?? 0 });
    expect(rest.completed).toBe(true);
    const seen = [...page.dataList, ...rest.dataList];
    expect(seen.map((r) => r.toId)).toEqual([c, b]);
    expect(seen[1]?.approveStatus).toBe(2);
    expect(rest.maxSequence).toBe(seen[1]?.sequence);
    const seq = await h.as(UserServiceService, a).getUserSequence({});
    expect(seq.sequences.friendShipRequestSeq).toBe(rest.maxSequence);
    const forB = await asB.syncFriendRequests({});
    expect(forB.dataList.map((r) => r.fromId)).toEqual([a]);
    await h.pushes();
  });
});
