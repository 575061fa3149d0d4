import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupMemberRole, GroupType, JoinRequestStatus } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { APPLY_JOIN } from "../../services/domain/group-member/join-requests.js";
import { APP_ID, type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

/**
 * Joining groups (issue 16 item 2): apply_join_type decides who may ask and whether a leader
 * decides; max_member_count bounds every way in; JOIN_GROUP 2000 tells the leaders and a rejected
 * applicant, ADDED_MEMBER 2001 a join; owners and managers (not only app admins) add members to a
 * public group as their role allows.
 */
let h: DomainHarness;

beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(async () => {
  await h?.close();
});

const item = (memberId: string, role = GroupMemberRole.GROUP_MEMBER_ROLE_ORDINARY) =>
  GroupMemberItem.fromPartial({ memberId, role });

/** A public group of owner, manager and member, applyJoinType as given; everyone online on web. */
async function group(prefix: string, applyJoinType: number, maxMemberCount?: number) {
  const [owner, mgr, mem, alice, bob] = ["o", "mgr", "mem", "alice", "bob"].map((n) =>
    h.id(`${prefix}-${n}`),
  ) as [string, string, string, string, string];
  await h.users([owner, mgr, mem, alice, bob]);
  for (const u of [owner, mgr, mem, alice, bob]) await h.online(u, 1, "web");
  const { groupId } = await h.as(GroupServiceService, owner).createGroup({
    groupType: GroupType.GROUP_TYPE_PUBLIC,
    ownerId: owner,
    applyJoinType,
    member: [item(mgr, GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER), item(mem)],
  });
  if (maxMemberCount !== undefined) {
    await h.db.group.update({
      where: { appId_groupId: { appId: APP_ID, groupId } },
      data: { maxMemberCount },
    });
  }
  await h.pushes();
  const as = (u: string) => h.as(GroupMemberServiceService, u);
  const isMember = async (u: string) =>
    (await h.db.groupMember.count({ where: { groupId, memberId: u, role: { not: 3 } } })) === 1;
  return { owner, mgr, mem, alice, bob, groupId, as, isMember };
}

const told = (
  pushes: Array<{ userId: string; command: number; data: Record<string, unknown> }>,
  command: number,
) =>
  pushes
    .filter((p) => p.command === command)
    .map((p) => ({ to: p.userId, ...p.data }))
    .sort((a, b) => (a.to < b.to ? -1 : 1));

describe("GroupMemberService: joining groups", () => {
  it("refuses to apply where nobody may (apply_join_type 0: 40019) and a member applying again (40003)", async () => {
    const g = await group("closed", APPLY_JOIN.FORBIDDEN);
    await expectCode(g.as(g.alice).applyJoinGroup({ groupId: g.groupId }), 40019);
    await expectCode(g.as(g.mem).applyJoinGroup({ groupId: g.groupId }), 40003);
    expect(await g.isMember(g.alice)).toBe(false);
  });

  it("joins at once where joining is free, told like an add (2001 to the leaders and the joiner)", async () => {
    const g = await group("free", APPLY_JOIN.FREE);
    expect(await g.as(g.alice).applyJoinGroup({ groupId: g.groupId })).toEqual({ joined: true });
    expect(await g.isMember(g.alice)).toBe(true);
    const added = told(await h.pushes(), Command.COMMAND_ADDED_MEMBER);
    expect(added.map((p) => p.to).sort()).toEqual([g.alice, g.mgr, g.owner].sort());
    expect(added[0]).toMatchObject({ groupId: g.groupId, members: [g.alice] });
  });

  it("files a request the leaders see and decide: rejected, asked again, approved", async () => {
    const g = await group("ask", APPLY_JOIN.APPROVAL);
    expect(await g.as(g.alice).applyJoinGroup({ groupId: g.groupId, remark: "hi, it's alice" })).toEqual({
      joined: false,
    });
    expect(await g.isMember(g.alice)).toBe(false);
    const asked = told(await h.pushes(), Command.COMMAND_JOIN_GROUP);
    expect(asked).toEqual(
      [g.owner, g.mgr].sort().map((to) => ({
        to,
        groupId: g.groupId,
        memberId: g.alice,
        remark: "hi, it's alice",
        status: JoinRequestStatus.JOIN_REQUEST_STATUS_PENDING,
      })),
    );

    const listed = await g.as(g.mgr).getJoinRequests({ groupId: g.groupId });
    expect(listed.requests).toMatchObject([{ applicantId: g.alice, remark: "hi, it's alice", status: 0 }]);
    await expectCode(g.as(g.mem).getJoinRequests({ groupId: g.groupId }), 40007);
    await expectCode(
      g.as(g.mem).decideJoinRequest({ groupId: g.groupId, applicantId: g.alice, approve: true }),
      40007,
    );

    await g.as(g.mgr).decideJoinRequest({ groupId: g.groupId, applicantId: g.alice, approve: false });
    expect(told(await h.pushes(), Command.COMMAND_JOIN_GROUP)).toEqual([
      { to: g.alice, groupId: g.groupId, memberId: g.alice, remark: "hi, it's alice", status: 2 },
    ]);
    expect((await g.as(g.owner).getJoinRequests({ groupId: g.groupId })).requests).toEqual([]);
    await expectCode(
      g.as(g.owner).decideJoinRequest({ groupId: g.groupId, applicantId: g.alice, approve: true }),
      40020,
    );

    await g.as(g.alice).applyJoinGroup({ groupId: g.groupId, remark: "please" });
    await h.pushes();
    await g.as(g.owner).decideJoinRequest({ groupId: g.groupId, applicantId: g.alice, approve: true });
    expect(await g.isMember(g.alice)).toBe(true);
    const added = told(await h.pushes(), Command.COMMAND_ADDED_MEMBER);
    expect(added.map((p) => p.to).sort()).toEqual([g.alice, g.mgr, g.owner].sort());
    const row = await h.db.groupJoinRequest.findUnique({
      where: { appId_groupId_applicantId: { appId: APP_ID, groupId: g.groupId, applicantId: g.alice } },
    });
    expect(row).toMatchObject({ status: 1, handledBy: g.owner, remark: "please" });
  });

  it("keeps a request pending when the group is full (40005), and free joining stops there too", async () => {
    const ask = await group("full-ask", APPLY_JOIN.APPROVAL, 3);
    await ask.as(ask.alice).applyJoinGroup({ groupId: ask.groupId });
    await expectCode(
      ask.as(ask.owner).decideJoinRequest({ groupId: ask.groupId, applicantId: ask.alice, approve: true }),
      40005,
    );
    expect((await ask.as(ask.owner).getJoinRequests({ groupId: ask.groupId })).requests).toHaveLength(1);
    expect(await ask.isMember(ask.alice)).toBe(false);

    const free = await group("full-free", APPLY_JOIN.FREE, 3);
    await expectCode(free.as(free.alice).applyJoinGroup({ groupId: free.groupId }), 40005);
    await h.pushes();
  });

  it("lets a public group's owner and managers add members as their role allows, not an ordinary member", async () => {
    const g = await group("pub-add", APPLY_JOIN.FORBIDDEN);
    const byManager = await g.as(g.mgr).addGroupMembers({
      groupId: g.groupId,
      members: [item(g.alice), item(g.bob, GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER)],
    });
    expect(byManager.results.map((r) => r.result)).toEqual([0, 1]); // only the owner names managers
    const byOwner = await g.as(g.owner).addGroupMembers({
      groupId: g.groupId,
      members: [item(g.bob, GroupMemberRole.GROUP_MEMBER_ROLE_MANAGER)],
    });
    expect(byOwner.results.map((r) => r.result)).toEqual([0]);
    const outsider = h.id("pub-add-out");
    await h.users([outsider]);
    await expectCode(g.as(g.mem).addGroupMembers({ groupId: g.groupId, members: [item(outsider)] }), 40007);
    await h.pushes();
  });

  it("refuses a remark over 200 characters (90001)", async () => {
    const g = await group("remark", APPLY_JOIN.APPROVAL);
    await expectCode(g.as(g.alice).applyJoinGroup({ groupId: g.groupId, remark: "r".repeat(201) }), 90001);
  });
});
