import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FriendGroupServiceService } from "../../gen/ts/whaleshark/v1/friend_group_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(() => h?.close());

async function owner(prefix: string) {
  const a = h.id(`${prefix}-a`);
  const friends = [h.id(`${prefix}-f1`), h.id(`${prefix}-f2`), h.id(`${prefix}-f3`)];
  await h.users([a, ...friends]);
  await h.online(a, 1, "web");
  await h.online(a, 2, "ios");
  return { a, friends, asA: h.as(FriendGroupServiceService, a) };
}

describe("FriendGroupService", () => {
  it("creates a label with members (many per label, D23), pushes 3012 and 3014", async () => {
    const { a, friends, asA } = await owner("add");
    const [f1, f2] = friends as [string, string];
    const res = await asA.addFriendGroup({
      groupName: "work",
      toIds: [f1, f2, "ghost"],
      clientType: 1,
      imei: "web",
    });
    expect(res.successId).toEqual([f1, f2]);
    expect(res.errorId).toEqual(["ghost"]);
    expect(await h.db.friendshipGroupMember.count({ where: { groupId: BigInt(res.groupId) } })).toBe(2);
    expect(await h.pushes()).toEqual([
      { userId: a, imei: "ios", command: 3012, data: { fromId: a, groupName: "work", sequence: 1 } },
      {
        userId: a,
        imei: "ios",
        command: 3014,
        data: { fromId: a, groupName: "work", sequence: 2, toIds: [f1, f2] },
      },
    ]);
    await expectCode(asA.addFriendGroup({ groupName: "work" }), 30015);
    await expectCode(asA.addFriendGroup({ groupName: "" }), 90001);
    const seq = await h.as(UserServiceService, a).getUserSequence({});
    expect(seq.sequences.friendShipGroupSeq).toBe(2);
  });

  it("adds and removes members (30016 for unknown labels) with 3014 / 3015", async () => {
    const { a, friends, asA } = await owner("mem");
    const [f1, f2, f3] = friends as [string, string, string];
    await asA.addFriendGroup({ groupName: "family" });
    const added = await asA.addFriendGroupMembers({ groupName: "family", toIds: [f1, f2, f1] });
    expect(added).toEqual({ successId: [f1, f2], errorId: [] });
    expect((await asA.addFriendGroupMembers({ groupName: "family", toIds: [f1] })).successId).toEqual([f1]);
    const removed = await asA.deleteFriendGroupMembers({ groupName: "family", toIds: [f1, f3] });
    expect(removed.successId).toEqual([f1]);
    await expectCode(asA.addFriendGroupMembers({ groupName: "nope", toIds: [f1] }), 30016);
    await expectCode(asA.deleteFriendGroupMembers({ groupName: "nope", toIds: [f1] }), 30016);
    const list = await asA.listFriendGroups({});
    expect(list.friendGroups.map((g) => [g.groupName, g.toIds])).toEqual([["family", [f2]]]);
    const commands = (await h.pushes()).filter((p) => p.imei === "web").map((p) => p.command);
    expect(commands).toEqual([3012, 3014, 3014, 3015]);
    expect(a).toBeDefined();
  });

  it("deletes labels (kept in sync with del_flag), re-creates a deleted name, pushes 3013", async () => {
    const { a, friends, asA } = await owner("del");
    await asA.addFriendGroup({ groupName: "old", toIds: [friends[0] ?? ""] });
    await asA.addFriendGroup({ groupName: "keep" });
    await h.pushes();
    await asA.deleteFriendGroups({ groupName: ["old", "missing"], clientType: 2, imei: "ios" });
    expect(await h.pushes()).toEqual([
      { userId: a, imei: "web", command: 3013, data: { fromId: a, groupName: "old", sequence: 4 } },
    ]);
    expect((await asA.listFriendGroups({})).friendGroups.map((g) => g.groupName)).toEqual(["keep"]);
    const sync = await asA.syncFriendGroups({ lastSequence: 0 });
    expect(sync.dataList.map((g) => [g.groupName, g.delFlag, g.sequence])).toEqual([
      ["keep", 0, 3],
      ["old", 1, 4],
    ]);
    expect(sync).toMatchObject({ maxSequence: 4, completed: true });
    const again = await asA.addFriendGroup({ groupName: "old" });
    const revived = await asA.listFriendGroups({});
    expect(revived.friendGroups.map((g) => [g.groupName, g.groupId, g.toIds])).toContainEqual([
      "old",
      again.groupId,
      [],
    ]);
    const page = await asA.syncFriendGroups({ lastSequence: 4, maxLimit: 1 });
    expect(page.dataList.map((g) => g.groupName)).toEqual(["old"]);
    await h.pushes();
  });

  it("keeps labels private to their owner", async () => {
    const { a } = await owner("priv");
    const b = h.id("priv-b");
    await h.users([b]);
    await expectCode(h.as(FriendGroupServiceService, b).listFriendGroups({ fromId: a }), 60005);
  });
});
