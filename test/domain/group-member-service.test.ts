import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { APP_ID, type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
let hook: Server;
/** What group.member.add.before answers with; null = plain success. */
let replacement: unknown = null;
const hookCalls: Array<{ command: string | null; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => {
      const command = new URL(req.url ?? "/", "http://x").searchParams.get("command");
      hookCalls.push({ command, body: JSON.parse(text) as Record<string, unknown> });
      const data = command === "group.member.add.before" ? replacement : null;
      res.end(JSON.stringify({ code: 200, msg: "success", data }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  h = await startDomainHarness({
    url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cb`,
    addGroupMemberBeforeCallback: true,
    addGroupMemberAfterCallback: true,
    deleteGroupMemberAfterCallback: true,
  });
});
afterAll(async () => {
  await h?.close();
  hook.closeAllConnections();
  await new Promise((r) => hook.close(r));
});

const item = (memberId: string, role = GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY) =>
  GroupMemberItem.fromPartial({ memberId, role });

/** Owner, manager, member and an outsider (all online on web and ios) in a fresh group. */
async function group(prefix: string, type = GroupType.GROUP_TYPE_PRIVATE) {
  const [owner, mgr, mem, out] = ["o", "mgr", "mem", "out"].map((n) => h.id(`${prefix}-${n}`)) as [
    string,
    string,
    string,
    string,
  ];
  await h.users([owner, mgr, mem, out]);
  for (const u of [owner, mgr, mem, out]) {
    await h.online(u, 1, "web");
    await h.online(u, 2, "ios");
  }
  const { groupId } = await h.as(GroupServiceService, owner).createGroup({
    groupType: type,
    member: [item(mgr, GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER), item(mem)],
  });
  await h.pushes();
  const as = (u: string) => h.as(GroupMemberServiceService, u);
  return { owner, mgr, mem, out, groupId, as };
}

const who = (pushes: Array<{ userId: string; imei: string }>, names: Record<string, string>) =>
  pushes.map((p) => `${names[p.userId] ?? p.userId}/${p.imei}`).sort();

describe("GroupMemberService.AddGroupMembers", () => {
  it("stops at the group's max_member_count (40005), also for adds racing each other", async () => {
    const g = await group("full"); // 3 members
    await h.db.group.update({
      where: { appId_groupId: { appId: APP_ID, groupId: g.groupId } },
      data: { maxMemberCount: 6 },
    });
    const extra = ["a", "b", "c", "d", "e"].map((n) => h.id(`full-${n}`));
    await h.users(extra);
    const [first, second] = await Promise.all([
      g.as(g.owner).addGroupMembers({ groupId: g.groupId, members: extra.slice(0, 3).map((m) => item(m)) }),
      g.as(g.owner).addGroupMembers({ groupId: g.groupId, members: extra.slice(3).map((m) => item(m)) }),
    ]);
    const results = [...first.results, ...second.results];
    expect(results.filter((r) => r.result === 0)).toHaveLength(3);
    const refused = results.filter((r) => r.result !== 0);
    expect(refused.map((r) => r.resultMessage)).toEqual(["群成员已达到上限", "群成员已达到上限"]);
    expect(await h.db.groupMember.count({ where: { groupId: g.groupId, role: { not: 3 } } })).toBe(6);
    await h.pushes();
  });

  it("lets a member of a private group invite; pushes 2001 to the leaders and the added (D12)", async () => {
    const g = await group("add");
    const res = await g.as(g.mem).addGroupMembers({
      groupId: g.groupId,
      members: [item(g.out), item("ghost")],
      clientType: 1,
      imei: "web",
    });
    expect(res.results.map((r) => [r.memberId, r.result])).toEqual([
      [g.out, 0],
      ["ghost", 1],
    ]);
    const pushes = await h.pushes();
    expect(who(pushes, { [g.owner]: "owner", [g.mgr]: "mgr", [g.out]: "out" })).toEqual(
      ["mgr/ios", "mgr/web", "out/ios", "out/web", "owner/ios", "owner/web"].sort(),
    );
    expect(pushes[0]?.data).toEqual({ groupId: g.groupId, members: [g.out] });
    expect(
      (await g.as(g.mem).addGroupMembers({ groupId: g.groupId, members: [item(g.out)] })).results[0]?.result,
    ).toBe(2);
    await h.env.callbacks.drain();
    expect(
      hookCalls.some((c) => c.command === "group.member.add.after" && c.body.groupId === g.groupId),
    ).toBe(true);
    await h.pushes();
  });

  it("judges a list as if one member at a time: repeats, a second owner, roles the operator may not give", async () => {
    const g = await group("addl");
    const [a, b] = [h.id("addl-a"), h.id("addl-b")];
    await h.users([a, b]);
    const owner = GroupMemberRole.GROUP_MEMBER_ROLE_OWNER;
    const manager = GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER;
    const byMember = await g.as(g.mem).addGroupMembers({
      groupId: g.groupId,
      members: [item(a), item(a), item(b, manager), item(g.mem), item(""), item("ghost"), item(b, owner)],
    });
    expect(byMember.results.map((r) => [r.memberId, r.result])).toEqual([
      [a, 0],
      [a, 2], // named twice: the second is a repeat
      [b, 1], // only the owner gives the manager role
      [g.mem, 2], // already a member
      ["", 1],
      ["ghost", 1], // no such user
      [b, 1], // the group has an owner
    ]);
    const byOwner = await g.as(g.owner).addGroupMembers({ groupId: g.groupId, members: [item(b, manager)] });
    expect(byOwner.results.map((r) => r.result)).toEqual([0]);
    await h.pushes();
  });

  it("refuses outsiders of private groups (40006) and of public groups, and a public group's ordinary members (40007)", async () => {
    const priv = await group("addp");
    await expectCode(
      priv.as(priv.out).addGroupMembers({ groupId: priv.groupId, members: [item(priv.out)] }),
      40006,
    );
    const pub = await group("addq", GroupType.GROUP_TYPE_PUBLIC);
    await expectCode(
      pub.as(pub.out).addGroupMembers({ groupId: pub.groupId, members: [item(pub.out)] }),
      40006,
    );
    await expectCode(
      pub.as(pub.mem).addGroupMembers({ groupId: pub.groupId, members: [item(pub.out)] }),
      40007,
    );
    const admin = h.id("addq-admin");
    await h.users([admin], { admins: [admin] });
    const res = await pub.as(admin).addGroupMembers({ groupId: pub.groupId, members: [item(pub.out)] });
    expect(res.results[0]?.result).toBe(0);
    await expectCode(pub.as(admin).addGroupMembers({ groupId: "nope", members: [] }), 40000);
    await h.pushes();
  });

  it("lets group.member.add.before replace the list", async () => {
    const g = await group("addr");
    replacement = [{ memberId: g.out, role: 0 }];
    const res = await g.as(g.owner).addGroupMembers({ groupId: g.groupId, members: [item("someone-else")] });
    replacement = null;
    expect(res.results.map((r) => r.memberId)).toEqual([g.out]);
    await h.pushes();
  });

  it("re-admits a member who left on the same row, with one conversation (D11)", async () => {
    const g = await group("rejoin");
    await g.as(g.mem).leaveGroup({ groupId: g.groupId });
    await g.as(g.owner).addGroupMembers({ groupId: g.groupId, members: [item(g.mem)] });
    expect(await h.db.groupMember.count({ where: { groupId: g.groupId, memberId: g.mem } })).toBe(1);
    expect(
      (await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.mem } })).role,
    ).toBe(0);
    expect(await h.db.conversationSet.count({ where: { fromId: g.mem, toId: g.groupId } })).toBe(1);
    await h.pushes();
  });
});

describe("GroupMemberService removals and leaving", () => {
  it("removes in a private group by the owner only (D13), 2006 to all members and the removed (D12)", async () => {
    const g = await group("rm");
    await expectCode(g.as(g.mgr).removeGroupMember({ groupId: g.groupId, memberId: g.mem }), 40009);
    await expectCode(g.as(g.owner).removeGroupMember({ groupId: g.groupId, memberId: g.owner }), 40010);
    await expectCode(g.as(g.owner).removeGroupMember({ groupId: g.groupId, memberId: g.out }), 40006);
    await expectCode(g.as(g.owner).removeGroupMember({ groupId: g.groupId, memberId: "ghost" }), 20001);
    await g
      .as(g.owner)
      .removeGroupMember({ groupId: g.groupId, memberId: g.mem, clientType: 1, imei: "web" });
    const row = await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.mem } });
    expect(row.role).toBe(3);
    expect(row.leaveTime).not.toBeNull();
    const pushes = await h.pushes();
    expect(who(pushes, { [g.owner]: "owner", [g.mgr]: "mgr", [g.mem]: "mem" })).toEqual(
      ["mem/ios", "mem/web", "mgr/ios", "mgr/web", "owner/ios"].sort(),
    );
    expect(pushes[0]?.data).toEqual({ groupId: g.groupId, member: g.mem });
  });

  it("removes in a public group by owner or manager (40007, 40009)", async () => {
    const g = await group("rmp", GroupType.GROUP_TYPE_PUBLIC);
    await expectCode(g.as(g.mem).removeGroupMember({ groupId: g.groupId, memberId: g.mgr }), 40007);
    await expectCode(g.as(g.mgr).removeGroupMember({ groupId: g.groupId, memberId: g.mgr }), 40009);
    await g.as(g.mgr).removeGroupMember({ groupId: g.groupId, memberId: g.mem });
    await h.pushes();
  });

  it("leaves (40010 for the owner), pushing 2004 to the rest and the leaver's other devices", async () => {
    const g = await group("leave");
    await expectCode(g.as(g.owner).leaveGroup({ groupId: g.groupId }), 40010);
    await expectCode(g.as(g.out).leaveGroup({ groupId: g.groupId }), 40006);
    await g.as(g.mem).leaveGroup({ groupId: g.groupId, clientType: 2, imei: "ios" });
    const pushes = await h.pushes();
    expect(who(pushes, { [g.owner]: "owner", [g.mgr]: "mgr", [g.mem]: "mem" })).toEqual(
      ["mem/web", "mgr/ios", "mgr/web", "owner/ios", "owner/web"].sort(),
    );
    expect(pushes[0]?.data).toEqual({ groupId: g.groupId, userId: g.mem });
    const members = await g.as(g.owner).getGroupMembers({ groupId: g.groupId });
    expect(members.members.map((m) => m.memberId)).toEqual([g.owner, g.mgr]);
    await expectCode(g.as(g.mem).getGroupMembers({ groupId: g.groupId }), 40006);
  });
});

describe("GroupMemberService updates and mutes", () => {
  it("updates aliases (40014) and roles in public groups by the owner (40009), 2005 to leaders and the member (D12)", async () => {
    const g = await group("upd", GroupType.GROUP_TYPE_PUBLIC);
    await g
      .as(g.mem)
      .updateGroupMember({ groupId: g.groupId, memberId: g.mem, alias: "me", clientType: 1, imei: "web" });
    const pushes = await h.pushes();
    expect(who(pushes, { [g.owner]: "owner", [g.mgr]: "mgr", [g.mem]: "mem" })).toEqual(
      ["mem/ios", "mgr/ios", "mgr/web", "owner/ios", "owner/web"].sort(),
    );
    expect(pushes[0]?.data).toEqual({ alias: "me", groupId: g.groupId, memberId: g.mem });
    await expectCode(
      g.as(g.mem).updateGroupMember({ groupId: g.groupId, memberId: g.mgr, alias: "x" }),
      40014,
    );
    await expectCode(
      g.as(g.mgr).updateGroupMember({
        groupId: g.groupId,
        memberId: g.mem,
        role: GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER,
      }),
      40009,
    );
    await expectCode(
      g.as(g.mem).updateGroupMember({
        groupId: g.groupId,
        memberId: g.mem,
        role: GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER,
      }),
      40007,
    );
    await g.as(g.owner).updateGroupMember({
      groupId: g.groupId,
      memberId: g.mem,
      role: GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER,
    });
    expect(
      (await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.mem } })).role,
    ).toBe(1);
    await expectCode(
      g.as(g.owner).updateGroupMember({ groupId: g.groupId, memberId: g.out, alias: "x" }),
      40006,
    );
    await expectCode(
      g.as(g.owner).updateGroupMember({
        groupId: g.groupId,
        memberId: g.mem,
        role: GroupMemberRole.GROUP_MEMBER_ROLE_OWNER,
      }),
      90001,
    );
    const priv = await group("updp");
    await expectCode(
      priv.as(priv.owner).updateGroupMember({
        groupId: priv.groupId,
        memberId: priv.mem,
        role: GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER,
      }),
      40008,
    );
    await h.pushes();
  });

  it("mutes members (40007, 40008, 40009) and pushes 2010 to all members", async () => {
    const g = await group("spk");
    await expectCode(
      g.as(g.mem).muteGroupMember({ groupId: g.groupId, memberId: g.mgr, speakDate: 1000 }),
      40007,
    );
    await expectCode(
      g.as(g.mgr).muteGroupMember({ groupId: g.groupId, memberId: g.owner, speakDate: 1000 }),
      40008,
    );
    await expectCode(
      g.as(g.owner).muteGroupMember({ groupId: g.groupId, memberId: g.out, speakDate: 1000 }),
      40006,
    );
    const before = Date.now();
    await g.as(g.mgr).muteGroupMember({ groupId: g.groupId, memberId: g.mem, speakDate: 60_000 });
    const row = await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.mem } });
    expect(Number(row.speakDate)).toBeGreaterThanOrEqual(before + 60_000);
    const pushes = await h.pushes();
    expect(pushes.filter((p) => p.command === 2010)).toHaveLength(6);
    expect(pushes[0]?.data).toEqual({ groupId: g.groupId, memberId: g.mem, speakDate: 60_000 });
    // The owner may mute a manager; a manager only ordinary members (40009).
    await g.as(g.owner).muteGroupMember({ groupId: g.groupId, memberId: g.mgr, speakDate: 1000 });
    await expectCode(
      g.as(g.mgr).muteGroupMember({ groupId: g.groupId, memberId: g.mgr, speakDate: 1000 }),
      40009,
    );
    await g.as(g.owner).muteGroupMember({ groupId: g.groupId, memberId: g.mem, speakDate: 0 });
    expect(
      (await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.mem } })).speakDate,
    ).toBe(0n);
    await h.pushes();
  });

  it("imports members as given (admins only, 40008)", async () => {
    const g = await group("imp");
    const admin = h.id("imp-admin");
    await h.users([admin], { admins: [admin] });
    const joined = GroupMemberItem.fromPartial({ memberId: g.out, joinTime: 42, alias: "old" });
    const res = await g.as(admin).importGroupMembers({ groupId: g.groupId, members: [joined, item(g.mem)] });
    expect(res.results.map((r) => r.result)).toEqual([0, 2]);
    expect(
      await h.db.groupMember.findFirstOrThrow({ where: { groupId: g.groupId, memberId: g.out } }),
    ).toMatchObject({
      joinTime: 42n,
      alias: "old",
    });
    expect(await h.pushes()).toEqual([]);
    await expectCode(g.as(g.owner).importGroupMembers({ groupId: g.groupId, members: [] }), 40008);
  });
});

describe("unknown and destroyed groups", () => {
  it("every group-changing call answers 40000 for an unknown group and 40018 for a destroyed one", async () => {
    const g = await group("gone");
    const admin = h.id("gone-admin");
    await h.users([admin], { admins: [admin] });
    const asGroup = h.as(GroupServiceService, g.owner);
    const asMembers = h.as(GroupMemberServiceService, g.owner);
    const asAdmin = h.as(GroupMemberServiceService, admin);
    const calls = (groupId: string): Array<[string, () => Promise<unknown>]> => [
      ["transferGroup", () => asGroup.transferGroup({ groupId, ownerId: g.mgr })],
      ["muteGroup", () => asGroup.muteGroup({ groupId })],
      ["importGroupMembers", () => asAdmin.importGroupMembers({ groupId, members: [item(g.out)] })],
      ["removeGroupMember", () => asMembers.removeGroupMember({ groupId, memberId: g.mem })],
      ["updateGroupMember", () => asMembers.updateGroupMember({ groupId, memberId: g.mem, alias: "x" })],
      ["muteGroupMember", () => asMembers.muteGroupMember({ groupId, memberId: g.mem, speakDate: 1 })],
      ["leaveGroup", () => h.as(GroupMemberServiceService, g.mem).leaveGroup({ groupId })],
    ];
    for (const [name, call] of calls("no-such-group")) {
      await expectCode(call(), 40000).catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
    }
    await expectCode(asMembers.getGroupMembers({ groupId: "no-such-group" }), 40000);
    await asGroup.destroyGroup({ groupId: g.groupId });
    for (const [name, call] of calls(g.groupId)) {
      await expectCode(call(), 40018).catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
    }
    // The members of a destroyed group may still read who was in it.
    expect((await asMembers.getGroupMembers({ groupId: g.groupId })).members).toHaveLength(3);
    await h.pushes();
  });
});
