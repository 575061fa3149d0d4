import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { isImError } from "../../../lib/errors/index.js";
import {
  allow,
  type CallbackReceiver,
  startCallbackReceiver,
} from "../../../lib/testing/callback-receiver.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { APP, type MessagingHarness, startMessagingHarness } from "../../../test/domain/messaging-harness.js";
import type { SendInput } from "./send-pipeline.js";

const PHONE = { clientType: 3, imei: "phone" };

async function errorOf(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isImError(error)) throw new Error(`expected an ImError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

/** Waits until the receiver holds `n` hits of `command` (after-callbacks are not awaited by the send). */
async function hitsOf(receiver: CallbackReceiver, command: string, n: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const hits = receiver.hits.filter((hit) => hit.query.get("command") === command);
    if (hits.length >= n || Date.now() > deadline)
      return hits.map((hit) => hit.body as Record<string, unknown>);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("message callbacks (message.send.before / message.send.after, issue 16)", () => {
  let h: MessagingHarness;
  let receiver: CallbackReceiver;
  let n = 0;
  const p2p = (over: Partial<SendInput> = {}): SendInput => ({
    conversationType: P2P,
    appId: APP,
    fromId: "ann",
    toId: "ben",
    messageId: `cb-${++n}`,
    messageBody: "hello",
    messageTime: 1_700_000_000_000,
    extra: "x",
    device: PHONE,
    ...over,
  });

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    h = await startMessagingHarness({
      callbacks: {
        url: receiver.url,
        timeoutMs: 2_000,
        sendMessageBeforeCallback: true,
        sendMessageAfterCallback: true,
      },
    });
    await h.users(["ann", "ben", "cat"]);
    await h.friends("ann", "ben");
    await h.group("g1", ["ann", "ben", "cat"]);
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  beforeEach(async () => {
    await h.jobs();
    receiver.hits.length = 0;
    receiver.reply = (_req, res) => allow(res);
  });

  it("asks before accepting and tells after, with the original's message fields, key and sequence", async () => {
    const sent = await h.messaging.send(p2p({ messageId: "asked" }));
    const [before] = await hitsOf(receiver, "message.send.before", 1);
    expect(before).toEqual({
      conversationType: 0,
      appId: APP,
      clientType: 3,
      imei: "phone",
      fromId: "ann",
      toId: "ben",
      messageId: "asked",
      messageBody: "hello",
      messageTime: 1_700_000_000_000,
      extra: "x",
    });
    const [after] = await hitsOf(receiver, "message.send.after", 1);
    expect(after).toEqual({
      ...before,
      messageKey: sent.messageKey,
      messageSequence: sent.messageSequence,
    });
    expect(receiver.hits[0]?.query.get("appId")).toBe(String(APP));
  });

  it("names the group for a group message", async () => {
    const sent = await h.messaging.send(p2p({ conversationType: GROUP, toId: "g1", messageId: "to-group" }));
    const [before] = await hitsOf(receiver, "message.send.before", 1);
    expect(before).toMatchObject({
      conversationType: 1,
      groupId: "g1",
      fromId: "ann",
      messageId: "to-group",
    });
    expect(before).not.toHaveProperty("toId");
    const [after] = await hitsOf(receiver, "message.send.after", 1);
    expect(after).toMatchObject({ groupId: "g1", messageKey: sent.messageKey, messageSequence: 1 });
  });

  it("refuses with the app server's code and text: nothing stored, nothing delivered, no after", async () => {
    receiver.reply = (_req, res) => res.end(JSON.stringify({ code: 77001, msg: "no spam here", data: null }));
    await h.online("ben", 3, "ben-phone");
    expect(await errorOf(h.messaging.send(p2p({ messageId: "spam" })))).toEqual({
      code: 77001,
      message: "no spam here",
    });
    expect(await h.jobs()).toEqual([]);
    expect((await h.pushes()).filter((p) => p.data.messageId === "spam")).toEqual([]);
    expect(await hitsOf(receiver, "message.send.after", 0)).toEqual([]);
  });

  it("stores, delivers and tells after with the body and extra the app server wrote", async () => {
    receiver.reply = (_req, res) => allow(res, { messageBody: "h***o", extra: "moderated" });
    await h.online("ben", 3, "ben-phone");
    const sent = await h.messaging.send(p2p({ messageId: "rude", messageBody: "hello" }));
    expect(sent).toMatchObject({ messageBody: "h***o", extra: "moderated" });
    const [job] = (await h.jobs()) as StoreP2PMessageJob[];
    expect(job?.message).toMatchObject({ messageBody: "h***o", extra: "moderated" });
    const push = (await h.pushes()).find((p) => p.userId === "ben" && p.data.messageId === "rude");
    expect(push?.data).toMatchObject({ messageBody: "h***o", extra: "moderated" });
    const [after] = await hitsOf(receiver, "message.send.after", 1);
    expect(after).toMatchObject({ messageBody: "h***o", extra: "moderated" });
  });

  it("keeps the message as sent when data is not a replacement, and answers a retry without asking again", async () => {
    receiver.reply = (_req, res) => allow(res, ["not", "an", "object"]);
    const first = await h.messaging.send(p2p({ messageId: "kept", messageBody: "as sent" }));
    expect(first.messageBody).toBe("as sent");
    await hitsOf(receiver, "message.send.after", 1);
    const again = await h.messaging.send(p2p({ messageId: "kept", messageBody: "as sent" }));
    expect(again).toEqual(first);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.hits.map((hit) => hit.query.get("command"))).toEqual([
      "message.send.before",
      "message.send.after",
    ]);
  });

  it("refuses a replacement the store could not keep with 90001 naming the callback", async () => {
    receiver.reply = (_req, res) => allow(res, { messageBody: "x".repeat(5_001) });
    const error = await errorOf(h.messaging.send(p2p({ messageId: "too-long" })));
    expect(error.code).toBe(90001);
    expect(error.message).toContain("message.send.before");
    expect(error.message).toContain("message_body");
    expect(await h.jobs()).toEqual([]);
  });

  it("sequences a conversation in arrival order although its callbacks answer in reverse", async () => {
    // The first message's callback answers last.
    receiver.reply = (_req, res, i) => setTimeout(() => allow(res), i === 1 ? 150 : 10);
    const ids = ["order-1", "order-2", "order-3"];
    const sent = await Promise.all(
      ids.map((messageId) => h.messaging.send(p2p({ conversationType: GROUP, toId: "g1", messageId }))),
    );
    const sequences = sent.map((m) => m.messageSequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    const jobs = (await h.jobs()) as StoreGroupMessageJob[];
    expect(jobs.map((j) => j.message?.messageId)).toEqual(ids);
  });
});

describe("message callbacks that fail", () => {
  it("let the message through when open and refuse it with 71000 when closed", async () => {
    const unreachable = {
      url: "http://127.0.0.1:1/callback",
      timeoutMs: 300,
      sendMessageBeforeCallback: true,
    };
    for (const [beforeFailure, expected] of [
      ["open", undefined],
      ["closed", 71000],
    ] as const) {
      const h = await startMessagingHarness({ callbacks: { ...unreachable, beforeFailure } });
      try {
        await h.users(["ann", "ben"]);
        await h.friends("ann", "ben");
        const send = h.messaging.send({
          conversationType: P2P,
          appId: APP,
          fromId: "ann",
          toId: "ben",
          messageId: `failing-${beforeFailure}`,
          messageBody: "hi",
          messageTime: 0,
          extra: "",
          device: PHONE,
        });
        if (expected === undefined) {
          expect((await send).messageBody).toBe("hi");
          expect(await h.jobs()).toHaveLength(1);
        } else {
          expect((await errorOf(send)).code).toBe(expected);
          expect(await h.jobs()).toEqual([]);
        }
      } finally {
        await h.close();
      }
    }
  });
});
