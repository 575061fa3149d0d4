import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { isImError } from "../../../lib/errors/index.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import {
  ADMIN,
  APP,
  type MessagingHarness,
  startMessagingHarness,
  storeBody,
} from "../../../test/domain/messaging-harness.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

const ALICE_PHONE: SenderDevice = { clientType: 3, imei: "a-phone" };
const BOB_PHONE: SenderDevice = { clientType: 3, imei: "b-phone" };

describe("receive ACKs, read marks and recall", () => {
  let h: MessagingHarness;
  let clock = Date.now();
  let n = 0;

  /** Sends and stores a message, returning it; pushes of the send are discarded. */
  async function sent(fromId: string, toId: string, type: number = P2P): Promise<ChatMessage> {
    const m = await h.messaging.send({
      conversationType: type === GROUP ? GROUP : P2P,
      appId: APP,
      fromId,
      toId,
      messageId: `r-${++n}`,
      messageBody: "secret",
      messageTime: clock,
      extra: "",
      device: fromId === "alice" ? ALICE_PHONE : BOB_PHONE,
    });
    for (const job of await h.jobs())
      await storeBody(h.database.db, job as StoreP2PMessageJob | StoreGroupMessageJob);
    await h.pushes();
    return m;
  }
  const recall = (operator: string, m: ChatMessage, over: { toId?: string; device?: SenderDevice } = {}) =>
    h.messaging.recall({
      appId: APP,
      operator,
      isAdmin: () => h.messaging.isAppAdmin(APP, operator),
      device: over.device ?? ALICE_PHONE,
      fromId: "",
      toId: over.toId ?? "",
      messageKey: m.messageKey,
    });

  beforeAll(async () => {
    h = await startMessagingHarness({ now: () => clock });
    await h.users(["alice", "bob", "carol", ADMIN]);
    await h.friends("alice", "bob");
    await h.group("team", ["alice", "bob", "carol"]);
    await h.online("alice", 3, "a-phone", "n1");
    await h.online("alice", 1, "a-web", "n1");
    await h.online("bob", 3, "b-phone", "n2");
    await h.online("carol", 3, "c-phone", "n2");
  });
  afterAll(async () => {
    await h?.close();
  });

  it("relays a receiver's 1107 to every device of the sender, without the receiver's device id", async () => {
    const m = await sent("alice", "bob");
    expect(
      await h.messaging.receiveAck({
        appId: APP,
        receiverId: "bob",
        device: BOB_PHONE,
        toId: "alice",
        messageKey: m.messageKey,
        messageSequence: m.messageSequence,
      }),
    ).toBe("relayed");
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}/${p.command}`).sort()).toEqual([
      "alice/a-phone/1107",
      "alice/a-web/1107",
    ]);
    // Issue 13: no clientType / imei of bob's device (the original pushed them).
    expect(pushes[0]?.data).toEqual({
      appId: APP,
      fromId: "bob",
      toId: "alice",
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
      serverSend: false,
    });
    // A message nobody sent bob: dropped, no error, nothing pushed.
    expect(
      await h.messaging.receiveAck({
        appId: APP,
        receiverId: "bob",
        device: BOB_PHONE,
        toId: "nobody",
        messageKey: 1,
        messageSequence: 1,
      }),
    ).toBe("unknown-message");
    expect(await h.pushes()).toEqual([]);
    const empty = {
      appId: APP,
      receiverId: "bob",
      device: BOB_PHONE,
      toId: "",
      messageKey: 1,
      messageSequence: 1,
    };
    expect(await codeOf(h.messaging.receiveAck(empty))).toBe(90001);
  });

  it("moves the read cursor forward only, with 1053 to the reader's devices and 1054 to the peer", async () => {
    // Receipts name real messages (issue 13): bob sends alice a few.
    let last = await sent("bob", "alice");
    for (let i = 0; i < 3; i++) last = await sent("bob", "alice");
    const mark = (messageSequence: number) =>
      h.messaging.markRead(
        { appId: APP, fromId: "alice", toId: "bob", groupId: "", conversationType: P2P, messageSequence },
        ALICE_PHONE,
      );
    expect(await mark(last.messageSequence)).toBe(true);
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}/${p.command}`).sort()).toEqual([
      "alice/a-web/1053",
      "bob/b-phone/1054",
    ]);
    expect(pushes[0]?.data).toMatchObject({
      fromId: "alice",
      toId: "bob",
      messageSequence: last.messageSequence,
      conversationType: 0,
    });
    expect(await mark(last.messageSequence - 1)).toBe(false); // D14: never back
    expect(await h.pushes()).toEqual([]);
    const row = await h.database.db.conversationSet.findUniqueOrThrow({
      where: { appId_conversationId: { appId: APP, conversationId: "0_alice_bob" } },
    });
    expect(row.readSequence).toBe(BigInt(last.messageSequence));
    await sent("bob", "team", GROUP);
    const fromBob = await sent("bob", "team", GROUP);
    const groupMark = (fromId: string) =>
      h.messaging.markRead(
        {
          appId: APP,
          fromId,
          toId: "bob",
          groupId: "team",
          conversationType: GROUP,
          messageSequence: fromBob.messageSequence,
        },
        { clientType: 3, imei: `${fromId}-x` },
      );
    expect(await groupMark("carol")).toBe(true);
    expect((await h.pushes()).map((p) => `${p.userId}/${p.command}`).sort()).toEqual([
      "bob/2054",
      "carol/2053",
    ]);
    expect(await codeOf(groupMark(ADMIN))).toBe(40006);
  });

  it("lets the sender recall within the window: 1052 to both users' devices but the calling one", async () => {
    const m = await sent("alice", "bob");
    expect(await recall("alice", m, { toId: "bob" })).toEqual({ messageKey: m.messageKey });
    const pushes = await h.pushes();
    expect(pushes.map((p) => `${p.userId}/${p.imei}/${p.command}`).sort()).toEqual([
      "alice/a-web/1052",
      "bob/b-phone/1052",
    ]);
    expect(pushes[0]?.data).toEqual({
      conversationType: 0,
      fromId: "alice",
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
      toId: "bob",
    });
    const row = await h.database.db.messageBody.findUniqueOrThrow({
      where: { messageKey: BigInt(m.messageKey) },
    });
    expect(row).toMatchObject({ recalled: true, messageBody: "" });
    expect(await codeOf(recall("alice", m))).toBe(50005);
    // A retry of the recalled send answers as before but never pushes the text again.
    const retry = await h.messaging.send({
      conversationType: P2P,
      appId: APP,
      fromId: "alice",
      toId: "bob",
      messageId: m.messageId,
      messageBody: "secret",
      messageTime: clock,
      extra: "",
      device: ALICE_PHONE,
    });
    expect(retry.messageKey).toBe(m.messageKey);
    expect(await h.pushes()).toEqual([]);
  });

  it("refuses others (40014), late senders (50004), unknown messages (50006); admins may always", async () => {
    const m = await sent("alice", "bob");
    expect(await codeOf(recall("bob", m, { device: BOB_PHONE }))).toBe(40014);
    expect(await codeOf(recall("alice", m, { toId: "carol" }))).toBe(50006);
    expect(await codeOf(recall("alice", { ...m, messageKey: m.messageKey + 999 }))).toBe(50006);
    clock += h.config.messaging.recallWindowMs + 1;
    expect(await codeOf(recall("alice", m))).toBe(50004);
    expect(await recall(ADMIN, m, { device: { clientType: 0, imei: "" } })).toEqual({
      messageKey: m.messageKey,
    });
    expect((await h.pushes()).map((p) => p.imei).sort()).toEqual(["a-phone", "a-web", "b-phone"]);
  });

  it("tells every member of a group about a recall", async () => {
    const m = await sent("bob", "team", GROUP);
    await recall("bob", m, { device: BOB_PHONE });
    expect((await h.pushes()).map((p) => `${p.userId}/${p.imei}`).sort()).toEqual([
      "alice/a-phone",
      "alice/a-web",
      "carol/c-phone",
    ]);
  });
});
