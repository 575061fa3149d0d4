import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { CONFIG_ADMIN, type DomainHarness, expectCode, startDomainHarness } from "./harness.js";

let h: DomainHarness;

beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(async () => {
  await h?.close();
});

/**
 * Group privateChat (issue 16 item 5, D33: the original never set it): stored on create, import
 * and update, returned by GetGroupInfo and in the 2002 / 2003 packs; only 0 and 1 are accepted.
 */
describe("GroupService privateChat", () => {
  it("is set on create (default 0), returned in info and 2002, changed by update with 2003", async () => {
    const [owner, m1] = [h.id("pc-o"), h.id("pc-m1")];
    await h.users([owner, m1]);
    await h.online(m1, 1, "web");
    const asOwner = h.as(GroupServiceService, owner);

    const plain = await asOwner.createGroup({ groupName: "plain" });
    expect((await asOwner.getGroupInfo({ groupId: plain.groupId })).group?.privateChat).toBe(0);

    const quiet = await asOwner.createGroup({
      groupName: "quiet",
      privateChat: 1,
      member: [GroupMemberItem.fromPartial({ memberId: m1 })],
    });
    expect((await asOwner.getGroupInfo({ groupId: quiet.groupId })).group?.privateChat).toBe(1);
    const created = (await h.pushes()).find((p) => p.command === 2002);
    expect(created?.data).toMatchObject({ groupId: quiet.groupId, privateChat: 1 });

    await asOwner.updateGroup({ groupId: quiet.groupId, privateChat: 0 });
    expect((await asOwner.getGroupInfo({ groupId: quiet.groupId })).group?.privateChat).toBe(0);
    const updated = (await h.pushes()).find((p) => p.command === 2003);
    expect(updated?.data).toMatchObject({ groupId: quiet.groupId, privateChat: 0 });

    // an update without the field leaves it; one with another field does not mention it
    await asOwner.updateGroup({ groupId: quiet.groupId, privateChat: 1 });
    await h.pushes();
    await asOwner.updateGroup({ groupId: quiet.groupId, groupName: "renamed" });
    expect((await asOwner.getGroupInfo({ groupId: quiet.groupId })).group?.privateChat).toBe(1);
    const renamed = (await h.pushes()).find((p) => p.command === 2003);
    expect(renamed?.data).not.toHaveProperty("privateChat");
  });

  it("is kept by import; anything but 0 or 1 is refused with 90001 before anything is written", async () => {
    const owner = h.id("pci-o");
    await h.users([owner]);
    const asAdmin = h.as(GroupServiceService, CONFIG_ADMIN);
    const imported = await asAdmin.importGroup({ groupId: h.id("pci-g"), ownerId: owner, privateChat: 1 });
    const row = await h.db.group.findFirstOrThrow({ where: { groupId: imported.groupId } });
    expect(row.privateChat).toBe(1);

    const bad = h.id("pci-bad");
    await expectCode(
      asAdmin.importGroup({ groupId: bad, ownerId: owner, privateChat: 2 }),
      90001,
      status.INVALID_ARGUMENT,
    );
    await expectCode(
      h.as(GroupServiceService, owner).createGroup({ groupId: bad, privateChat: -1 }),
      90001,
      status.INVALID_ARGUMENT,
    );
    expect(await h.db.group.count({ where: { groupId: bad } })).toBe(0);
    await expectCode(
      h.as(GroupServiceService, owner).updateGroup({ groupId: imported.groupId, privateChat: 7 }),
      90001,
      status.INVALID_ARGUMENT,
    );
    expect((await h.db.group.findFirstOrThrow({ where: { groupId: imported.groupId } })).privateChat).toBe(1);
  });
});
