import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import { allow, type CallbackReceiver, startCallbackReceiver } from "../../lib/testing/callback-receiver.js";
import type { ClientError } from "../../sdk/client-error.js";
import { eventually } from "../support/harness/eventually.js";
import { type ChatDeployment, distributedChat, embeddedChat } from "./support/chat-deployments.js";

/**
 * Message callbacks over the wire (issue 16 item 4), in both profiles: `whaleshark start` (a
 * child process: PGlite, the bus journal) and the distributed roles (Redis, RabbitMQ,
 * PostgreSQL). A local app server refuses every message with "spam" in it and writes "d**n" for
 * "darn"; devices send P2P and group messages. The sender sees the app server's code and text
 * in the refused ACK, the receiver gets only the accepted messages, rewritten, and the app
 * server hears `message.send.after` once per accepted message with the ACK's key.
 */

/** The moderation the app server does. */
function moderate(receiver: CallbackReceiver): void {
  receiver.reply = (_req, res, _n, hit) => {
    if (hit.query.get("command") !== "message.send.before") return allow(res);
    const { messageBody } = hit.body as { messageBody: string };
    if (messageBody.includes("spam")) {
      return res.end(JSON.stringify({ code: 77001, msg: "no spam here", data: null, ok: false }));
    }
    allow(res, messageBody.includes("darn") ? { messageBody: messageBody.replaceAll("darn", "d**n") } : null);
  };
}

/** Env variables / config of the callbacks section pointing at `url`. */
const callbackSettings = (url: string) => ({
  url,
  timeoutMs: 5_000,
  sendMessageBeforeCallback: true,
  sendMessageAfterCallback: true,
});

/** The scenario, on a deployment where alice and bob are friends and members of group "club". */
async function moderatedChat(deployment: ChatDeployment, receiver: CallbackReceiver): Promise<void> {
  const alice = deployment.device("alice", "alice-phone");
  const bob = deployment.device("bob", "bob-phone");
  await Promise.all([alice.connect(), bob.connect()]);
  const outcome = (sent: Promise<MessageAck>) =>
    sent.then(
      (ack) => ack.data?.messageKey,
      (e: ClientError) => `${e.code} ${e.serverMessage}`,
    );
  const hello = await outcome(alice.client.sendP2P({ toId: "bob", messageBody: "hello" }));
  const spam = await outcome(alice.client.sendP2P({ toId: "bob", messageBody: "cheap spam" }));
  const darn = await outcome(alice.client.sendP2P({ toId: "bob", messageBody: "darn it" }));
  const group = await outcome(alice.client.sendGroup({ groupId: "club", messageBody: "darn group" }));
  expect(spam).toBe("77001 no spam here");
  const accepted = [hello, darn, group];
  for (const key of accepted) expect(typeof key).toBe("number");

  await eventually(() => bob.messages.length >= 3, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 300)); // nothing else arrives
  expect(bob.messages.map((m) => [m.value.kind, m.value.message.messageBody])).toEqual([
    ["p2p", "hello"],
    ["p2p", "d**n it"],
    ["group", "d**n group"],
  ]);
  expect(bob.messages.map((m) => m.value.message.messageKey)).toEqual(accepted);

  const afters = () => receiver.hits.filter((hit) => hit.query.get("command") === "message.send.after");
  await eventually(() => afters().length >= 3, 10_000);
  expect(afters().map((hit) => hit.body)).toEqual([
    expect.objectContaining({ conversationType: 0, toId: "bob", messageBody: "hello", messageKey: hello }),
    expect.objectContaining({ conversationType: 0, toId: "bob", messageBody: "d**n it", messageKey: darn }),
    expect.objectContaining({
      conversationType: 1,
      groupId: "club",
      messageBody: "d**n group",
      messageKey: group,
    }),
  ]);
  const befores = receiver.hits.filter((hit) => hit.query.get("command") === "message.send.before");
  expect(befores.map((hit) => (hit.body as { messageBody: string }).messageBody)).toEqual([
    "hello",
    "cheap spam",
    "darn it",
    "darn group",
  ]);
}

describe.each([
  ["embedded (whaleshark start)", embeddedChat],
  ["distributed (Redis, RabbitMQ, PostgreSQL)", distributedChat],
])("message callbacks, %s", (_name, deploy) => {
  let receiver: CallbackReceiver;
  let deployment: ChatDeployment;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    moderate(receiver);
    deployment = await deploy({ callbacks: callbackSettings(receiver.url) });
  }, 90_000);

  afterAll(async () => {
    await deployment?.close();
    await receiver?.close();
  });

  it("refuses, rewrites and reports messages as the app server says", async () => {
    await moderatedChat(deployment, receiver);
  }, 60_000);
});
