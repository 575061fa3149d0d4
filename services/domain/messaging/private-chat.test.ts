import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isImError } from "../../../lib/errors/index.js";
import { P2P } from "../../../lib/wire/conversation-type.js";
import { APP, type MessagingHarness, startMessagingHarness } from "../../../test/domain/messaging-harness.js";

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

let n = 0;
const send = (h: MessagingHarness, fromId: string, toId: string) =>
  h.messaging.send({
    conversationType: P2P,
    appId: APP,
    fromId,
    toId,
    messageId: `pc-${++n}`,
    messageBody: "hi",
    messageTime: 0,
    extra: "",
    device: { clientType: 0, imei: "" },
  });

async function forbidPrivateChat(h: MessagingHarness, groupId: string): Promise<void> {
  await h.database.db.group.update({
    where: { appId_groupId: { appId: APP, groupId } },
    data: { privateChat: 1 },
  });
  await h.env.changes.bumpGroup(APP, groupId);
}

/** Group privateChat (issue 16 item 5): the rule of send-checks.ts checkPrivateChat. */
describe("group privateChat with open messaging (checkFriendship off)", () => {
  let h: MessagingHarness;
  beforeAll(async () => {
    h = await startMessagingHarness({ messaging: { checkFriendship: false, checkBlacklist: true } });
    await h.users(["owner", "pam", "quin", "rex", "sol", "tia"]);
    await h.group("quiet", ["owner", "pam", "quin", "rex", "tia"]);
    await forbidPrivateChat(h, "quiet");
    await h.friends("pam", "rex");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("refuses ordinary members who are not friends with 40021, and publishes nothing", async () => {
    await h.jobs();
    expect(await codeOf(send(h, "pam", "quin"))).toBe(40021);
    expect(await codeOf(send(h, "quin", "pam"))).toBe(40021);
    // MessageService.CheckSend answers the same
    expect(await codeOf(h.messaging.checkSend(APP, "pam", "quin", false))).toBe(40021);
    expect(await h.jobs()).toHaveLength(0);
  });

  it("lets friends, the owner, self-chat and users who share no group through", async () => {
    expect((await send(h, "pam", "rex")).messageSequence).toBeGreaterThan(0); // friends
    expect((await send(h, "owner", "pam")).messageSequence).toBeGreaterThan(0); // a leader writes
    expect((await send(h, "quin", "owner")).messageSequence).toBeGreaterThan(0); // ...and is written to
    expect((await send(h, "pam", "pam")).messageSequence).toBeGreaterThan(0); // self-chat
    expect((await send(h, "sol", "pam")).messageSequence).toBeGreaterThan(0); // no shared group
  });

  it("one shared group that allows private chat is enough; a manager may write", async () => {
    await h.group("open", ["sol", "pam", "quin"]);
    expect((await send(h, "pam", "quin")).messageSequence).toBeGreaterThan(0);
    await h.database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "quiet", memberId: "tia" },
      data: { role: 1 },
    });
    expect((await send(h, "tia", "rex")).messageSequence).toBeGreaterThan(0);
  });

  it("a member who left, or a destroyed group, no longer forbids", async () => {
    await h.group("hush", ["owner", "sol", "rex"]);
    await forbidPrivateChat(h, "hush");
    expect(await codeOf(send(h, "sol", "rex"))).toBe(40021);
    await h.database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "hush", memberId: "rex" },
      data: { role: 3 },
    });
    expect((await send(h, "sol", "rex")).messageSequence).toBeGreaterThan(0);
    await h.database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "hush", memberId: "rex" },
      data: { role: 0 },
    });
    expect(await codeOf(send(h, "rex", "sol"))).toBe(40021);
    await h.database.db.group.update({
      where: { appId_groupId: { appId: APP, groupId: "hush" } },
      data: { status: 2 },
    });
    expect((await send(h, "rex", "sol")).messageSequence).toBeGreaterThan(0);
  });
});

describe("group privateChat with friendship checks on (the default)", () => {
  it("changes nothing: friends chat, non-friends get the friendship code", async () => {
    const h = await startMessagingHarness();
    try {
      await h.users(["owner", "pam", "quin", "rex"]);
      await h.group("quiet", ["owner", "pam", "quin", "rex"]);
      await forbidPrivateChat(h, "quiet");
      await h.friends("pam", "quin");
      expect((await send(h, "pam", "quin")).messageSequence).toBeGreaterThan(0);
      expect(await codeOf(send(h, "pam", "rex"))).toBe(30008);
    } finally {
      await h.close();
    }
  });
});
