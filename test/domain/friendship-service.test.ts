import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFriendshipType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService, ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
let hook: Server;
const hookCalls: Array<{ command: string | null; body: Record<string, unknown> }> = [];
/** The ResponseVO the callback endpoint answers friend.add.before with. */
let veto: { code: number; msg: string } | null = null;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      const command = new URL(req.url ?? "/", "http://x").searchParams.get("command");
      hookCalls.push({ command, body: JSON.parse(text) as Record<string, unknown> });
      const body = command === "friend.add.before" && veto !== null ? veto : { code: 200, msg: "success" };
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  h = await startDomainHarness({
    url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cb`,
    addFriendBeforeCallback: true,
    addFriendAfterCallback: true,
    deleteFriendAfterCallback: true,
  });
});
afterAll(async () => {
  await h?.close();
  hook.closeAllConnections();
  await new Promise((r) => hook.close(r));
});

/** Two fresh users, both online on web and ios. */
async function pair(prefix: string, opts: { friendAllowType?: number; disableAddFriend?: number } = {}) {
  const a = h.id(`${prefix}-a`);
  const b = h.id(`${prefix}-b`);
  await h.users([a, b], opts);
  for (const u of [a, b]) {
    await h.online(u, 1, "web");
    await h.online(u, 2, "ios");
  }
  return { a, b, asA: h.as(FriendshipServiceService, a), asB: h.as(FriendshipServiceService, b) };
}

describe("FriendshipService.AddFriend", () => {
  it("makes friends on both sides with conversations and pushes 3000 to both (skipping the caller)", async () => {
    const { a, b, asA } = await pair("add");
    const res = await asA.addFriend({
      fromId: a,
      clientType: 1,
      imei: "web",
      toItem: { toId: b, remark: "bee", addSource: "search" },
    });
    expect(res.requestSent).toBe(false);
    const ab = await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } });
    const ba = await h.db.friendship.findFirstOrThrow({ where: { fromId: b, toId: a } });
    expect(ab).toMatchObject({ status: 1, remark: "bee", addSource: "search", friendSequence: 1n });
    expect(ba).toMatchObject({ status: 1, remark: null, friendSequence: 1n }); // D11: no copied remark
    const convs = await h.db.conversationSet.findMany({
      where: { conversationId: { in: [`0_${a}_${b}`, `0_${b}_${a}`] } },
    });
    expect(convs).toHaveLength(2);
    const pushes = await h.pushes();
    expect(
      pushes
        .filter((p) => p.command === 3000)
        .map((p) => `${p.userId}/${p.imei}`)
        .sort(),
    ).toEqual([`${a}/ios`, `${b}/ios`, `${b}/web`].sort());
    const toB = pushes.find((p) => p.userId === b);
    expect(toB?.data).toMatchObject({ fromId: b, toId: a, sequence: 1 });
    await expectCode(asA.addFriend({ toItem: { toId: b } }), 30002, status.ALREADY_EXISTS);
    await expectCode(asA.addFriend({ toItem: { toId: "ghost" } }), 20001, status.NOT_FOUND);
    await h.env.callbacks.drain();
    expect(hookCalls.some((c) => c.command === "friend.add.after" && c.body.fromId === a)).toBe(true);
  });

  it("re-adds a deleted friend without duplicate conversations (D11)", async () => {
    const { a, b, asA } = await pair("readd");
    await asA.addFriend({ toItem: { toId: b } });
    await asA.deleteFriend({ toId: b });
    await asA.addFriend({ toItem: { toId: b, remark: "again" } });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      status: 1,
      remark: "again",
      friendSequence: 3n,
    });
    await h.pushes();
  });

  it("creates a friend request when the target needs verification, 3003 to the target (D6)", async () => {
    const { a, b, asA } = await pair("req", { friendAllowType: 2 });
    const res = await asA.addFriend({ toItem: { toId: b, addWording: "hi", addSource: "qr" } });
    expect(res.requestSent).toBe(true);
    expect(await h.db.friendship.count({ where: { fromId: a, toId: b } })).toBe(0);
    const request = await h.db.friendshipRequest.findFirstOrThrow({ where: { fromId: a, toId: b } });
    expect(request).toMatchObject({ approveStatus: 0, readStatus: 0, addWording: "hi", addSource: "qr" });
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}/${p.command}`).sort()).toEqual([
      `${b}/ios/3003`,
      `${b}/web/3003`,
    ]);
    expect(pushes[0]?.data).toMatchObject({ fromId: a, toId: b, addWording: "hi", id: Number(request.id) });
    // A second add refreshes the same request (D35: add_source too).
    await asA.addFriend({ toItem: { toId: b, addWording: "hello", addSource: "card" } });
    const again = await h.db.friendshipRequest.findMany({ where: { fromId: a, toId: b } });
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ addWording: "hello", addSource: "card" });
    expect(again[0]?.sequence).toBeGreaterThan(request.sequence);
    await h.pushes();
  });

  it("refuses across a blacklist (30006 / 30007) and lets friend.add.before veto", async () => {
    const { a, b, asA, asB } = await pair("blk");
    await asB.addBlack({ toId: a });
    await expectCode(asA.addFriend({ toItem: { toId: b } }), 30007);
    await expectCode(asB.addFriend({ toItem: { toId: a } }), 30006);
    veto = { code: 30001, msg: "not today" };
    const { a: c, asA: asC } = await pair("veto");
    await expectCode(asC.addFriend({ toItem: { toId: b } }), 30001);
    veto = null;
    expect(await h.db.friendship.count({ where: { fromId: c } })).toBe(0);
    await h.pushes();
  });

  it("refuses adding a user who does not accept friends (disable_add_friend), with or without verification", async () => {
    for (const friendAllowType of [1, 2]) {
      const { a, b, asB } = await pair(`closed-${friendAllowType}`, { friendAllowType, disableAddFriend: 1 });
      await expectCode(asB.addFriend({ toItem: { toId: a } }), 30001);
      expect(await h.db.friendship.count({ where: { fromId: b } })).toBe(0);
      expect(await h.db.friendshipRequest.count({ where: { fromId: b } })).toBe(0);
      // The closed user can still add others, and an admin import still makes friends.
      const { b: c } = await pair(`open-${friendAllowType}`);
      expect((await h.as(FriendshipServiceService, a).addFriend({ toItem: { toId: c } })).requestSent).toBe(
        false,
      );
    }
    await h.pushes();
  });

  it("refuses adding for another user unless admin", async () => {
    const { a, b } = await pair("perm");
    const admin = h.id("perm-admin");
    await h.users([admin], { admins: [admin] });
    await expectCode(
      h.as(FriendshipServiceService, b).addFriend({ fromId: a, toItem: { toId: b } }),
      60005,
      status.PERMISSION_DENIED,
    );
    await h.as(FriendshipServiceService, admin).addFriend({ operater: a, fromId: a, toItem: { toId: b } });
    expect(await h.db.friendship.count({ where: { fromId: a, toId: b, status: 1 } })).toBe(1);
    const pushes = await h.pushes();
    // Back-office call (no imei): every device of both users.
    expect(pushes).toHaveLength(4);
  });
});

describe("FriendshipService updates and deletes", () => {
  it("updates only the given fields, bumps the sequence (D7) and pushes 3001", async () => {
    const { a, b, asA } = await pair("upd");
    await asA.addFriend({ toItem: { toId: b, remark: "r1", addSource: "s1" } });
    await h.pushes();
    await asA.updateFriend({ clientType: 1, imei: "web", toItem: { toId: b, remark: "r2" } });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      remark: "r2",
      addSource: "s1",
      friendSequence: 2n,
    });
    expect(await h.pushes()).toEqual([
      { userId: a, imei: "ios", command: 3001, data: { fromId: a, remark: "r2", sequence: 2, toId: b } },
    ]);
    await expectCode(asA.updateFriend({ toItem: { toId: "ghost" } }), 20001);
    const { b: stranger } = await pair("upd2");
    await expectCode(asA.updateFriend({ toItem: { toId: stranger } }), 30003);
  });

  it("deletes one direction (30003 / 30004) and pushes 3002", async () => {
    const { a, b, asA } = await pair("del");
    await expectCode(asA.deleteFriend({ toId: b }), 30003);
    await asA.addFriend({ toItem: { toId: b } });
    await h.pushes();
    await asA.deleteFriend({ toId: b, clientType: 2, imei: "ios" });
    expect((await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).status).toBe(2);
    expect((await h.db.friendship.findFirstOrThrow({ where: { fromId: b, toId: a } })).status).toBe(1);
    expect(await h.pushes()).toEqual([
      { userId: a, imei: "web", command: 3002, data: { fromId: a, sequence: 2, toId: b } },
    ]);
    await expectCode(asA.deleteFriend({ toId: b }), 30004);
  });

  it("deletes all friends, each row with a sequence, and pushes 3016", async () => {
    const { a, b, asA } = await pair("all");
    const c = h.id("all-c");
    await h.users([c]);
    await asA.addFriend({ toItem: { toId: b } });
    await asA.addFriend({ toItem: { toId: c } });
    await h.pushes();
    await asA.deleteAllFriends({});
    const rows = await h.db.friendship.findMany({ where: { fromId: a }, orderBy: { friendSequence: "asc" } });
    expect(rows.map((r) => [r.status, Number(r.friendSequence)])).toEqual([
      [2, 3],
      [2, 4],
    ]);
    const pushes = await h.pushes();
    expect(pushes.map((p) => p.command)).toEqual([3016, 3016]);
    expect(pushes[0]?.data).toEqual({ fromId: a, sequence: 4 });
  });
});

describe("FriendshipService reads, checks and sync", () => {
  it("lists, reads a relation (30008) and checks single and both ways (D9)", async () => {
    const { a, b, asA, asB } = await pair("chk");
    const c = h.id("chk-c");
    await h.users([c]);
    await asA.addFriend({ toItem: { toId: b } });
    await asB.deleteFriend({ toId: a });
    expect((await asA.getAllFriendships({})).friendships.map((f) => f.toId)).toEqual([b]);
    expect((await asA.getRelation({ toId: b })).friendship).toMatchObject({ fromId: a, toId: b, status: 1 });
    await expectCode(asA.getRelation({ toId: c }), 30008, status.NOT_FOUND);
    const single = await asA.checkFriend({
      toIds: [b, c],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_SINGLE,
    });
    expect(single.results.map((r) => r.status)).toEqual([1, 0]);
    const both = await asA.checkFriend({
      toIds: [b, c],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_BOTH,
    });
    expect(both.results.map((r) => r.status)).toEqual([2, 4]);
    const fromB = await asB.checkFriend({
      toIds: [a],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_BOTH,
    });
    expect(fromB.results.map((r) => r.status)).toEqual([3]);
    await expectCode(asA.checkFriend({ toIds: [b] }), 90001, status.INVALID_ARGUMENT);
    await h.pushes();
  });

  it("blacks and un-blacks (30006, 30008, 30010), pushes 3010/3011 and checks the blacklist", async () => {
    const { a, b, asA, asB } = await pair("black");
    await asA.addBlack({ toId: b, clientType: 1, imei: "web" });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      black: 2,
      status: 0,
    });
    await expectCode(asA.addBlack({ toId: b }), 30006);
    await expectCode(asA.addBlack({ toId: "ghost" }), 20001);
    const single = await asA.checkBlack({
      toIds: [b],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_SINGLE,
    });
    expect(single.results[0]?.status).toBe(1);
    await asB.addBlack({ toId: a });
    const both = await asA.checkBlack({
      toIds: [b],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_BOTH,
    });
    expect(both.results[0]?.status).toBe(1);
    await asA.deleteBlack({ toId: b, clientType: 1, imei: "web" });
    await expectCode(asA.deleteBlack({ toId: b }), 30010);
    await expectCode(asA.deleteBlack({ toId: h.id("nobody") }), 30008);
    const mine = (await h.pushes()).filter((p) => p.userId === a).map((p) => `${p.imei}/${p.command}`);
    expect(mine).toEqual(["ios/3010", "ios/3011"]);
    const afterUnblack = await asA.checkBlack({
      toIds: [b],
      checkType: CheckFriendshipType.CHECK_FRIENDSHIP_TYPE_BOTH,
    });
    expect(afterUnblack.results[0]?.status).toBe(3);
  });

  it("syncs the caller's rows by sequence, paging with completed (D10)", async () => {
    const { a, asA } = await pair("sync");
    const friends = [h.id("sync-1"), h.id("sync-2"), h.id("sync-3")];
    await h.users(friends);
    for (const f of friends) await asA.addFriend({ toItem: { toId: f } });
    await asA.updateFriend({ toItem: { toId: friends[0] ?? "", remark: "first" } });
    const page1 = await asA.syncFriendships({ lastSequence: 0, maxLimit: 2 });
    expect(page1.maxSequence).toBe(4);
    expect(page1.completed).toBe(false);
    expect(page1.dataList.map((f) => f.friendSequence)).toEqual([2, 3]);
    const page2 = await asA.syncFriendships({ lastSequence: 3, maxLimit: 2 });
    expect(page2.completed).toBe(true);
    expect(page2.dataList.map((f) => [f.toId, f.remark])).toEqual([[friends[0], "first"]]);
    const empty = await asA.syncFriendships({ lastSequence: 4 });
    expect(empty).toEqual({ maxSequence: 4, completed: true, dataList: [] });
    const seq = await h.as(UserServiceService, a).getUserSequence({});
    expect(seq.sequences.friendShipSeq).toBe(4);
    expect(seq.sequences.conversationSeq).toBe(3);
    expect((await h.as(FriendshipServiceService, friends[0] ?? "").syncFriendships({})).maxSequence).toBe(1);
    await h.pushes();
  });

  it("imports rows with sequences (admins only, at most 100)", async () => {
    const { a, b } = await pair("imp");
    const admin = h.id("imp-admin");
    await h.users([admin], { admins: [admin] });
    const asAdmin = h.as(FriendshipServiceService, admin);
    const res = await asAdmin.importFriendships({
      fromId: a,
      friendItem: [
        ImportFriendItem.fromPartial({ toId: b, remark: "x" }),
        ImportFriendItem.fromPartial({ toId: "ghost" }),
      ],
    });
    expect(res).toEqual({ successId: [b], errorId: ["ghost"] });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      status: 1,
      black: 1,
      friendSequence: 1n,
    });
    // The importer gets its conversation with the new friend (conversation sync shows it).
    expect(await h.db.conversationSet.count({ where: { conversationId: `0_${a}_${b}`, delFlag: 0 } })).toBe(
      1,
    );
    const many = Array.from({ length: 101 }, (_, i) => ImportFriendItem.fromPartial({ toId: `t${i}` }));
    await expectCode(asAdmin.importFriendships({ fromId: a, friendItem: many }), 30000);
    await expectCode(
      h.as(FriendshipServiceService, a).importFriendships({ fromId: a, friendItem: [] }),
      40008,
    );
    await expectCode(asAdmin.importFriendships({ fromId: "ghost", friendItem: [] }), 20001);
  });
});
