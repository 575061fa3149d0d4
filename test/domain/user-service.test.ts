import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { generateUserSign } from "../../lib/auth/index.js";
import {
  APP_ID,
  CONFIG_ADMIN,
  type DomainHarness,
  expectCode,
  PRIVATE_KEY,
  startDomainHarness,
} from "./harness.js";

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness({
    url: "http://127.0.0.1:1/unused",
    modifyUserAfterCallback: false,
  });
});
afterAll(() => h?.close());

describe("authentication (common.proto §2)", () => {
  it("refuses a call without metadata, with a bad or expired userSign", async () => {
    const alice = h.id("alice");
    await h.users([alice]);
    await expectCode(
      h.client(UserServiceService, {}).getSingleUserInfo({ userId: alice }),
      60001,
      status.UNAUTHENTICATED,
    );
    const noSign = h.client(UserServiceService, { appid: String(APP_ID), identifier: alice });
    await expectCode(noSign.getSingleUserInfo({ userId: alice }), 60000, status.UNAUTHENTICATED);
    const bad = h.as(UserServiceService, alice, { usersign: "bm90LWEtdG9rZW4_" });
    await expectCode(bad.getSingleUserInfo({ userId: alice }), 60003, status.UNAUTHENTICATED);
    const wrongKey = generateUserSign({
      appId: APP_ID,
      identifier: alice,
      privateKey: "another-key",
      expireSeconds: 60,
    });
    await expectCode(h.as(UserServiceService, alice, { usersign: wrongKey }).getSingleUserInfo({}), 60003);
    const expired = generateUserSign({
      appId: APP_ID,
      identifier: alice,
      privateKey: PRIVATE_KEY,
      expireSeconds: 60,
      now: Math.floor(Date.now() / 1000) - 120,
    });
    await expectCode(h.as(UserServiceService, alice, { usersign: expired }).getSingleUserInfo({}), 60004);
    const bobSign = generateUserSign({
      appId: APP_ID,
      identifier: "bob",
      privateKey: PRIVATE_KEY,
      expireSeconds: 60,
    });
    await expectCode(
      h.as(UserServiceService, alice, { usersign: bobSign }).getSingleUserInfo({}),
      60005,
      status.UNAUTHENTICATED,
    );
    expect(
      (await h.as(UserServiceService, alice).getSingleUserInfo({ userId: alice })).userData?.userId,
    ).toBe(alice);
  });

  it("refuses acting on another user's data with PERMISSION_DENIED 60005", async () => {
    const [alice, bob] = [h.id("alice2"), h.id("bob2")];
    await h.users([alice, bob]);
    const asBob = h.as(UserServiceService, bob);
    await expectCode(
      asBob.modifyUserInfo({ operater: alice, userId: alice, nickName: "x" }),
      60005,
      status.PERMISSION_DENIED,
    );
    await expectCode(asBob.modifyUserInfo({ userId: alice, nickName: "x" }), 60005, status.PERMISSION_DENIED);
    await expectCode(asBob.getUserSequence({ userId: alice }), 60005, status.PERMISSION_DENIED);
  });
});

describe("UserService", () => {
  it("imports users (admins only, at most 100) and reports failures per id", async () => {
    const [admin, u1, u2] = [h.id("admin"), h.id("imp1"), h.id("imp2")];
    await h.users([admin], { admins: [admin] });
    const asAdmin = h.as(UserServiceService, admin);
    const res = await asAdmin.importUsers({
      userData: [
        UserData.fromPartial({ userId: u1, nickName: "one", userSex: "1", friendAllowType: 2 }),
        UserData.fromPartial({ userId: u2 }),
        UserData.fromPartial({ userId: u1 }),
        UserData.fromPartial({ userId: "" }),
      ],
    });
    expect(res.successId).toEqual([u1, u2]);
    expect(res.errorId).toEqual([u1, ""]);
    const row = await h.db.userData.findFirstOrThrow({ where: { userId: u1 } });
    expect(row).toMatchObject({ nickName: "one", userSex: 1, friendAllowType: 2, userType: 1, delFlag: 0 });

    const tooMany = Array.from({ length: 101 }, (_, i) => UserData.fromPartial({ userId: `x${i}` }));
    await expectCode(asAdmin.importUsers({ userData: tooMany }), 20000, status.INVALID_ARGUMENT);
    await expectCode(
      h.as(UserServiceService, u1).importUsers({ userData: [] }),
      40008,
      status.PERMISSION_DENIED,
    );
    // A configured admin (adminIds) needs no user row.
    expect((await h.as(UserServiceService, CONFIG_ADMIN).importUsers({ userData: [] })).successId).toEqual(
      [],
    );
  });

  it("deletes users softly (admins only)", async () => {
    const [admin, u1] = [h.id("admin3"), h.id("del1")];
    await h.users([admin, u1], { admins: [admin] });
    const res = await h.as(UserServiceService, admin).deleteUsers({ userId: [u1, "nobody"] });
    expect(res).toEqual({ successId: [u1], errorId: ["nobody"] });
    expect((await h.db.userData.findFirstOrThrow({ where: { userId: u1 } })).delFlag).toBe(1);
    expect((await h.as(UserServiceService, admin).deleteUsers({ userId: [u1] })).errorId).toEqual([u1]);
    await expectCode(h.as(UserServiceService, u1).deleteUsers({ userId: [admin] }), 40008);
  });

  it("reads users without passwords, and lists unknown ids", async () => {
    const [a, b] = [h.id("read-a"), h.id("read-b")];
    await h.users([a, b]);
    const asA = h.as(UserServiceService, a);
    const res = await asA.getUserInfo({ userIds: [a, b, "ghost"] });
    expect(res.userDataItem.map((u) => u.userId).sort()).toEqual([a, b].sort());
    expect(res.failUser).toEqual(["ghost"]);
    expect(JSON.stringify(res)).not.toMatch(/password/i);
    expect((await asA.getSingleUserInfo({ userId: b })).userData?.nickName).toBe(b);
    await expectCode(asA.getSingleUserInfo({ userId: "ghost" }), 20001, status.NOT_FOUND);
  });

  it("modifies only the given fields and pushes 4000 to the other devices", async () => {
    const [a, admin] = [h.id("mod-a"), h.id("mod-admin")];
    await h.users([a, admin], { admins: [admin] });
    await h.online(a, 1, "web");
    await h.online(a, 2, "ios");
    const asA = h.as(UserServiceService, a);
    await asA.modifyUserInfo({ userId: a, clientType: 1, imei: "web", nickName: "Alice", photo: "p.png" });
    const row = await h.db.userData.findFirstOrThrow({ where: { userId: a } });
    expect(row).toMatchObject({ nickName: "Alice", photo: "p.png", location: null });
    const pushes = await h.pushes();
    expect(pushes).toEqual([
      { userId: a, imei: "ios", command: 4000, data: { nickName: "Alice", photo: "p.png", userId: a } },
    ]);

    // An empty string clears; absent fields stay.
    await asA.modifyUserInfo({ userId: a, photo: "" });
    expect(await h.db.userData.findFirstOrThrow({ where: { userId: a } })).toMatchObject({
      nickName: "Alice",
      photo: null,
    });
    expect((await h.pushes()).map((p) => p.imei).sort()).toEqual(["ios", "web"]); // back-office call: all devices

    await expectCode(asA.modifyUserInfo({ userId: a, silentFlag: 1 }), 40008);
    await h.as(UserServiceService, admin).modifyUserInfo({ operater: admin, userId: a, silentFlag: 1 });
    expect((await h.db.userData.findFirstOrThrow({ where: { userId: a } })).silentFlag).toBe(1);
    await expectCode(
      h.as(UserServiceService, admin).modifyUserInfo({ userId: "ghost", nickName: "x" }),
      20001,
    );
    await h.pushes();
  });

  it("returns the user's sequence map, zeros for untouched modules and no group (D2, D19)", async () => {
    const a = h.id("seq-a");
    await h.users([a]);
    const res = await h.as(UserServiceService, a).getUserSequence({ userId: a });
    expect(res.sequences).toEqual({
      friendShipSeq: 0,
      friendShipRequestSeq: 0,
      friendShipGroupSeq: 0,
      conversationSeq: 0,
      groupSeq: 0,
    });
    await expectCode(h.as(UserServiceService, "ghost").getUserSequence({}), 20001);
  });
});
