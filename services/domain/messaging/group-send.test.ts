import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoreGroupMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { isImError } from "../../../lib/errors/index.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { APP, type MessagingHarness, startMessagingHarness } from "../../../test/domain/messaging-harness.js";
import type { SendInput } from "./send-pipeline.js";

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

describe("group sends (2104, MessageService.SendGroupMessage)", () => {
  let h: MessagingHarness;
  let n = 0;
  const members = ["owner", "m1", "m2", "m3", "m4", "m5"];
  const send = (over: Partial<SendInput>) =>
    h.messaging.send({
      conversationType: GROUP,
      appId: APP,
      fromId: "owner",
      toId: "g1",
      messageId: `gm-${++n}`,
      messageBody: "hi all",
      messageTime: 1_700_000_000_000,
      extra: "e",
      device: { clientType: 3, imei: "owner-phone" },
      ...over,
    });

  beforeAll(async () => {
    h = await startMessagingHarness();
    await h.users([...members, "outsider"]);
    await h.group("g1", members);
    await h.group("muted", ["owner", "m1"], { mute: true });
    await h.group("gone", ["owner", "m1"], { status: 2 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("stores one copy and pushes online members only, one publish per gateway node", async () => {
    await h.online("owner", 3, "owner-phone", "n1");
    await h.online("owner", 1, "owner-web", "n2");
    await h.online("m1", 3, "m1-phone", "n1");
    await h.online("m2", 3, "m2-phone", "n2");
    await h.online("m3", 3, "m3-phone", "n2");
    await h.pushes();
    h.batches();

    const m = await send({ messageId: "hello-group" });
    expect(m.messageSequence).toBe(1);
    const jobs = (await h.jobs()) as StoreGroupMessageJob[];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.message).toMatchObject({ groupId: "g1", messageSequence: 1, memberIds: [] });

    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.node}/${p.userId}/${p.imei}`).sort()).toEqual([
      "n1/m1/m1-phone",
      "n2/m2/m2-phone",
      "n2/m3/m3-phone",
      "n2/owner/owner-web",
    ]);
    for (const p of pushes) {
      expect(p.command).toBe(2104);
      expect(p.data).toMatchObject({ groupId: "g1", messageKey: m.messageKey, messageSequence: 1 });
      // No member ids in pushes to devices (a defect of the original, fixed: chat-message.ts).
      expect(p.data).not.toHaveProperty("memberIds");
    }
    expect(h.batches()).toEqual(
      new Map([
        ["n1", 1],
        ["n2", 1],
      ]),
    );
  });

  it("reaches a member who joined since the last message (the group's change token moved)", async () => {
    await send({ messageId: "before-join" });
    await h.pushes();
    await h.users(["late"]);
    await h.database.db.groupMember.create({
      data: { appId: APP, groupId: "g1", memberId: "late", role: 0 },
    });
    await h.env.changes.bumpGroup(APP, "g1"); // as GroupMemberService does after its write commits
    await h.online("late", 3, "late-phone", "n1");
    const m = await send({ messageId: "after-join" });
    const late = (await h.pushes()).filter((p) => p.userId === "late");
    expect(late.map((p) => p.data.messageKey)).toEqual([m.messageKey]);
    await h.jobs();
  });

  it("counts the group's sequence for every sender and dedupes resends", async () => {
    const a = await send({ fromId: "m1", device: { clientType: 3, imei: "m1-phone" } });
    const b = await send({ fromId: "m2", messageId: "twice" });
    const again = await send({ fromId: "m2", messageId: "twice" });
    expect(b.messageSequence).toBe(a.messageSequence + 1);
    expect(again).toEqual(b);
    expect(await h.jobs()).toHaveLength(2);
  });

  it("refuses with the group checks' codes (spec §5.4, D13)", async () => {
    expect(await codeOf(send({ toId: "" }))).toBe(90001);
    expect(await codeOf(send({ toId: "nope" }))).toBe(40000);
    expect(await codeOf(send({ toId: "gone" }))).toBe(40018);
    expect(await codeOf(send({ fromId: "outsider" }))).toBe(40006);
    expect(await codeOf(send({ toId: "muted", fromId: "m1" }))).toBe(40012);
    await h.database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "g1", memberId: "m4" },
      data: { speakDate: BigInt(Date.now() + 60_000) },
    });
    await h.env.changes.bumpGroup(APP, "g1"); // as the member service does after a change
    expect(await codeOf(send({ fromId: "m4" }))).toBe(40017);
    await h.database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "g1", memberId: "m5" },
      data: { role: 3 },
    });
    await h.env.changes.bumpGroup(APP, "g1");
    expect(await codeOf(send({ fromId: "m5" }))).toBe(40006);
    expect(await h.jobs()).toHaveLength(0);
    // The owner of a muted group may still speak.
    expect((await send({ toId: "muted" })).messageSequence).toBe(1);
    await h.jobs();
  });
});
