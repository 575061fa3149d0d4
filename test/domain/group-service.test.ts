import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupMuteType, GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { CONFIG_ADMIN, type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
let hook: Server;
const hookCalls: Array<{ command: string | null; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      hookCalls.push({
        command: new URL(req.url ?? "/", "http://x").searchParams.get("command"),
        body: JSON.parse(text) as Record<string, unknown>,
      });
      res.end(JSON.stringify({ code: 200, msg: "success" }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  h = await startDomainHarness({
    url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cb`,
    createGroupAfterCallback: true,
    destroyGroupAfterCallback: true,
    transferGroupAfterCallback: true,
    modifyGroupAfterCallback: true,
  });
});
afterAll(async () => {
  await h?.close();
  hook.closeAllConnections();
  await new Promise((r) => hook.close(r));
});

const member = (memberId: string, role = GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY) =>
  GroupMemberItem.fromPartial({ memberId, role });

/** An owner and two members, all online on web and ios, in a fresh group of `type`. */
async function group(prefix: string, type = GroupType.GROUP_TYPE_PRIVATE) {
  const [owner, m1, m2] = [h.id(`${prefix}-o`), h.id(`${prefix}-m1`), h.id(`${prefix}-m2`)];
  await h.users([owner, m1, m2]);
  for (const u of [owner, m1, m2]) {
    await h.online(u, 1, "web");
    await h.online(u, 2, "ios");
  }
  const asOwner = h.as(GroupServiceService, owner);
  const created = await asOwner.createGroup({
    groupName: prefix,
    groupType: type,
    member: [member(m1, GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER), member(m2)],
  });
  await h.pushes();
  return {
    owner,
    m1,
    m2,
    groupId: created.groupId,
    asOwner,
    asM1: h.as(GroupServiceService, m1),
    asM2: h.as(GroupServiceService, m2),
  };
}

describe("GroupService.CreateGroup and reads", () => {
  it("creates with the operator as owner, returns the id (D15), pushes 2002 to all members", async () => {
    const [owner, m1] = [h.id("c-o"), h.id("c-m1")];
    await h.users([owner, m1]);
    await h.online(owner, 1, "web");
    await h.online(owner, 2, "ios");
    await h.online(m1, 1, "web");
    const res = await h.as(GroupServiceService, owner).createGroup({
      clientType: 1,
      imei: "web",
      groupName: "team",
      ownerId: "ignored",
      member: [
        member(m1),
        member("ghost"),
        member(m1),
        member(h.id("c-x"), GroupMemberRole.GROUP_MEMBER_ROLE_OWNER),
      ],
    });
    expect(res.groupId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.memberResults.map((r) => r.result)).toEqual([0, 1, 2, 1]);
    const row = await h.db.group.findFirstOrThrow({ where: { groupId: res.groupId } });
    expect(row).toMatchObject({ ownerId: owner, groupType: 1, status: 1, groupName: "team" });
    const convs = await h.db.conversationSet.count({ where: { toId: res.groupId, conversationType: 1 } });
    expect(convs).toBe(2);
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId === owner ? "o" : "m"}/${p.imei}/${p.command}`).sort()).toEqual([
      "m/web/2002",
      "o/ios/2002",
    ]);
    expect(pushes[0]?.data).toMatchObject({
      groupId: res.groupId,
      ownerId: owner,
      groupName: "team",
      status: 1,
    });
    await h.env.callbacks.drain();
    expect(hookCalls.find((c) => c.command === "group.create.after")?.body).toMatchObject({
      groupId: res.groupId,
    });
  });

  it("honours a supplied id (40001 when taken) and defaults the type to PRIVATE (D35)", async () => {
    const owner = h.id("sid-o");
    await h.users([owner]);
    const asOwner = h.as(GroupServiceService, owner);
    const id = h.id("mygroup");
    expect((await asOwner.createGroup({ groupId: id })).groupId).toBe(id);
    await expectCode(asOwner.createGroup({ groupId: id }), 40001, status.ALREADY_EXISTS);
    await expectCode(h.as(GroupServiceService, "ghost").createGroup({}), 20001);
    // A value too long for its column is the caller's mistake (90001), not an internal error.
    await expectCode(asOwner.createGroup({ groupId: "x".repeat(60) }), 90001, status.INVALID_ARGUMENT);
  });

  it("gets group info with current members (40000) and joined groups paged (D19)", async () => {
    const { owner, m2, groupId, asOwner } = await group("info");
    const other = await h
      .as(GroupServiceService, owner)
      .createGroup({ groupType: GroupType.GROUP_TYPE_PUBLIC });
    const info = await asOwner.getGroupInfo({ groupId });
    expect(info.group?.groupId).toBe(groupId);
    expect(info.memberList.map((m) => m.role)).toEqual([2, 1, 0]);
    await expectCode(asOwner.getGroupInfo({ groupId: "nope" }), 40000, status.NOT_FOUND);
    const joined = await asOwner.getJoinedGroups({});
    expect(joined.totalCount).toBe(2);
    const publicOnly = await asOwner.getJoinedGroups({ groupType: [GroupType.GROUP_TYPE_PUBLIC] });
    expect(publicOnly.groupList.map((g) => g.groupId)).toEqual([other.groupId]);
    expect((await asOwner.getJoinedGroups({ limit: 1, offset: 1 })).groupList).toHaveLength(1);
    await h.as(GroupMemberServiceService, m2).leaveGroup({ groupId });
    expect((await h.as(GroupServiceService, m2).getJoinedGroups({})).totalCount).toBe(0);
    await expectCode(h.as(GroupServiceService, m2).getJoinedGroups({ memberId: owner }), 60005);
    await h.pushes();
  });
});

describe("GroupService.GetGroupInfo for non-members (issue 13)", () => {
  it("refuses a private group to a non-member like GetGroupMembers (40006); members and admins see all", async () => {
    const { m2, groupId } = await group("priv");
    const stranger = h.id("priv-s");
    await h.users([stranger]);
    const members = (id: string) => h.as(GroupMemberServiceService, id).getGroupMembers({ groupId });
    await expectCode(members(stranger), 40006);
    await expectCode(h.as(GroupServiceService, stranger).getGroupInfo({ groupId }), 40006);
    const asMember = await h.as(GroupServiceService, m2).getGroupInfo({ groupId });
    expect(asMember.memberList).toHaveLength(3);
    const asAdmin = await h.as(GroupServiceService, CONFIG_ADMIN).getGroupInfo({ groupId });
    expect(asAdmin.memberList.map((m) => m.memberId).sort()).toEqual(
      (await members(m2)).members.map((m) => m.memberId).sort(),
    );
    // One who left is a non-member again.
    await h.as(GroupMemberServiceService, m2).leaveGroup({ groupId });
    await expectCode(h.as(GroupServiceService, m2).getGroupInfo({ groupId }), 40006);
    await h.pushes();
  });

  it("shows a public group's own fields to a non-member, without its members", async () => {
    const { groupId } = await group("pub", GroupType.GROUP_TYPE_PUBLIC);
    const stranger = h.id("pub-s");
    await h.users([stranger]);
    await expectCode(h.as(GroupMemberServiceService, stranger).getGroupMembers({ groupId }), 40006);
    const info = await h.as(GroupServiceService, stranger).getGroupInfo({ groupId });
    expect(info.group).toMatchObject({ groupId, groupName: "pub", groupType: GroupType.GROUP_TYPE_PUBLIC });
    expect(info.memberList).toEqual([]);
  });
});

describe("GroupService changes", () => {
  it("updates a live group (D5), pushes 2003, refuses non-members (40006) and ordinary members of public groups (40007)", async () => {
    const { owner, m1, m2, groupId, asOwner, asM2 } = await group("upd", GroupType.GROUP_TYPE_PUBLIC);
    await asOwner.updateGroup({
      groupId,
      groupName: "renamed",
      introduction: "hi",
      clientType: 1,
      imei: "web",
    });
    expect(await h.db.group.findFirstOrThrow({ where: { groupId } })).toMatchObject({
      groupName: "renamed",
      introduction: "hi",
    });
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}`).sort()).toEqual(
      [`${owner}/ios`, `${m1}/ios`, `${m1}/web`, `${m2}/ios`, `${m2}/web`].sort(),
    );
    expect(pushes[0]?.data).toMatchObject({ groupId, groupName: "renamed", introduction: "hi" });
    expect(pushes[0]?.data).not.toHaveProperty("photo");
    await expectCode(asM2.updateGroup({ groupId, groupName: "x" }), 40007);
    const stranger = h.id("upd-s");
    await h.users([stranger]);
    await expectCode(h.as(GroupServiceService, stranger).updateGroup({ groupId, groupName: "x" }), 40006);
    await expectCode(asOwner.updateGroup({ groupId: "nope" }), 40000);
    await h.env.callbacks.drain();
    expect(hookCalls.some((c) => c.command === "group.update.after" && c.body.groupName === "renamed")).toBe(
      true,
    );
  });

  it("destroys by the owner only (40009, D13), pushes 2007, then refuses changes with 40018", async () => {
    const { owner, groupId, asOwner, asM1 } = await group("dst");
    await expectCode(asM1.destroyGroup({ groupId }), 40009, status.PERMISSION_DENIED);
    await asOwner.destroyGroup({ groupId });
    const row = await h.db.group.findFirstOrThrow({ where: { groupId } });
    expect(row.status).toBe(2);
    const pushes = await h.pushes();
    expect(pushes.filter((p) => p.command === 2007)).toHaveLength(6); // back-office call: all devices
    expect(pushes[0]?.data).toEqual({ groupId, sequence: Number(row.sequence) });
    await expectCode(asOwner.destroyGroup({ groupId }), 40018);
    await expectCode(asOwner.updateGroup({ groupId, groupName: "x" }), 40018);
    await expectCode(h.as(GroupMemberServiceService, owner).addGroupMembers({ groupId, members: [] }), 40018);
    await expectCode(asOwner.destroyGroup({ groupId: "nope" }), 40000);
    await h.env.callbacks.drain();
    expect(hookCalls.some((c) => c.command === "group.destory.after" && c.body.groupId === groupId)).toBe(
      true,
    );
  });

  it("transfers ownership, pushes 2008 and fires group.transfer.after (D33, D8)", async () => {
    const { owner, m1, m2, groupId, asOwner, asM1 } = await group("trf");
    await expectCode(asM1.transferGroup({ groupId, ownerId: m2 }), 40009);
    await expectCode(asOwner.transferGroup({ groupId, ownerId: h.id("ghost") }), 40006);
    await asOwner.transferGroup({ groupId, ownerId: m2 });
    const members = await h.db.groupMember.findMany({ where: { groupId } });
    expect(Object.fromEntries(members.map((m) => [m.memberId, m.role]))).toEqual({
      [owner]: 0,
      [m1]: 1,
      [m2]: 2,
    });
    expect((await h.db.group.findFirstOrThrow({ where: { groupId } })).ownerId).toBe(m2);
    const pushes = await h.pushes();
    expect(pushes.filter((p) => p.command === 2008)).toHaveLength(6);
    expect(pushes[0]?.data).toEqual({ groupId, ownerId: m2 });
    await h.env.callbacks.drain();
    expect(
      hookCalls.find((c) => c.command === "group.transfer.after" && c.body.groupId === groupId)?.body,
    ).toMatchObject({
      ownerId: m2,
      oldOwnerId: owner,
    });
  });

  it("mutes the whole group (owner or manager, 40007), with a sequence and 2009 (D33)", async () => {
    const { groupId, asM1, asM2 } = await group("mute");
    const before = (await h.db.group.findFirstOrThrow({ where: { groupId } })).sequence;
    await asM1.muteGroup({ groupId, mute: GroupMuteType.GROUP_MUTE_TYPE_MUTE });
    const row = await h.db.group.findFirstOrThrow({ where: { groupId } });
    expect(row.mute).toBe(1);
    expect(row.sequence).toBeGreaterThan(before);
    const pushes = await h.pushes();
    expect(pushes.filter((p) => p.command === 2009)).toHaveLength(6);
    expect(pushes[0]?.data).toEqual({ groupId, mute: 1 });
    await expectCode(asM2.muteGroup({ groupId, mute: GroupMuteType.GROUP_MUTE_TYPE_NOT_MUTE }), 40007);
  });

  it("imports groups as given (admins only, 40001, 40016)", async () => {
    const admin = h.id("imp-admin");
    await h.users([admin], { admins: [admin] });
    const asAdmin = h.as(GroupServiceService, admin);
    const id = h.id("imported");
    const res = await asAdmin.importGroup({
      groupId: id,
      groupName: "old",
      ownerId: "someone",
      createTime: 1234,
    });
    expect(res.groupId).toBe(id);
    expect(await h.db.group.findFirstOrThrow({ where: { groupId: id } })).toMatchObject({
      createTime: 1234n,
      groupType: 1,
    });
    await expectCode(asAdmin.importGroup({ groupId: id }), 40001);
    await expectCode(asAdmin.importGroup({ groupType: GroupType.GROUP_TYPE_PUBLIC }), 40016);
    await expectCode(h.as(GroupServiceService, h.id("imp-s")).importGroup({}), 40008);
  });
});

describe("GroupService.SyncJoinedGroups", () => {
  it("pages the caller's groups by sequence; membership changes bump it; left groups come as left (D19)", async () => {
    const { owner, m2, groupId, asOwner } = await group("sync");
    const second = await asOwner.createGroup({ member: [member(m2)] });
    const asM2 = h.as(GroupServiceService, m2);
    const first = await asM2.syncJoinedGroups({ maxLimit: 1 });
    expect(first.completed).toBe(false);
    expect(first.dataList.map((g) => g.groupId)).toEqual([groupId]);
    const rest = await asM2.syncJoinedGroups({ lastSequence: first.dataList[0]?.sequence ?? 0 });
    expect(rest.dataList.map((g) => g.groupId)).toEqual([second.groupId]);
    expect(rest.completed).toBe(true);
    const cursor = rest.maxSequence;
    await h.as(GroupMemberServiceService, owner).removeGroupMember({ groupId, memberId: m2 });
    const after = await asM2.syncJoinedGroups({ lastSequence: cursor });
    expect(after.dataList.map((g) => g.groupId)).toEqual([groupId]);
    expect(after.leftGroupIds).toEqual([groupId]);
    expect(after.dataList[0]?.groupName).toBe("");
    const seq = await h.as(UserServiceService, m2).getUserSequence({});
    expect(seq.sequences.groupSeq).toBe(after.maxSequence);
    const loner = h.id("sync-loner");
    await h.users([loner]);
    expect(await h.as(GroupServiceService, loner).syncJoinedGroups({})).toEqual({
      maxSequence: 0,
      completed: true,
      dataList: [],
      leftGroupIds: [],
    });
    await h.pushes();
  });
});
