import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService, ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import type { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { allow, type CallbackReceiver, startCallbackReceiver } from "../../lib/testing/callback-receiver.js";
import type { ClientError } from "../../sdk/client-error.js";
import { startEmbedded } from "../support/cli.js";
import { grpcCaller } from "../support/grpc-caller.js";
import { eventually, startCluster } from "./support/cluster.js";
import { type Endpoint, TestDevice } from "./support/device.js";

/**
 * Message callbacks over the wire (issue 16 item 4), in both profiles: `whaleshark start` (a
 * child process: PGlite, the bus journal) and the distributed roles (Redis, RabbitMQ,
 * PostgreSQL). A local app server refuses every message with "spam" in it and writes "d**n" for
 * "darn"; devices send P2P and group messages. The sender sees the app server's code and text
 * in the refused ACK, the receiver gets only the accepted messages, rewritten, and the app
 * server hears `message.send.after` once per accepted message with the ACK's key.
 */

const APP = 10001;
const KEY = "message-callbacks-key";
const ADMIN = "admin";

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

interface Deployment {
  device(userId: string, imei: string): TestDevice;
}

/** The scenario, on a deployment where alice and bob are friends and members of group "club". */
async function moderatedChat(deployment: Deployment, receiver: CallbackReceiver): Promise<void> {
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

describe("message callbacks, embedded (whaleshark start)", () => {
  let receiver: CallbackReceiver;
  let stop = () => {};
  let deployment: Deployment;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    moderate(receiver);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(callbackSettings(receiver.url))) {
      env[`WHALESHARK_CALLBACKS__${key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`] =
        String(value);
    }
    const started = await startEmbedded({ appId: APP, privateKey: KEY, adminIds: [ADMIN] }, env);
    const channels: Array<{ close(): void }> = [];
    const devices: TestDevice[] = [];
    stop = () => {
      for (const d of devices) d.close();
      for (const c of channels) c.close();
      if (started.cli.child.exitCode === null) started.cli.child.kill("SIGKILL");
    };
    const service = <D extends object>(definition: D, userId: string) => {
      const c = grpcCaller(started.domain, definition, { appId: APP, privateKey: KEY, userId });
      channels.push(c);
      return c.call;
    };
    await service(UserServiceService, ADMIN).importUsers({
      userData: ["alice", "bob"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    for (const [fromId, toId] of [
      ["alice", "bob"],
      ["bob", "alice"],
    ] as const) {
      await service(FriendshipServiceService, ADMIN).importFriendships({
        fromId,
        friendItem: [ImportFriendItem.fromPartial({ toId })],
      });
    }
    await service(GroupServiceService, "alice").createGroup({
      groupId: "club",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [GroupMemberItem.fromPartial({ memberId: "bob" })],
    });
    const endpoint = (): Endpoint => ({ kind: "tcp", port: started.tcpPort });
    deployment = {
      device(userId, imei) {
        const d = new TestDevice({ appId: APP, privateKey: KEY, userId, imei, clientType: 3, endpoint });
        devices.push(d);
        return d;
      },
    };
  }, 90_000);

  afterAll(async () => {
    stop();
    await receiver?.close();
  });

  it("refuses, rewrites and reports messages as the app server says", async () => {
    await moderatedChat(deployment, receiver);
  }, 60_000);
});

describe("message callbacks, distributed (Redis, RabbitMQ, PostgreSQL)", () => {
  let receiver: CallbackReceiver;
  let cluster: Awaited<ReturnType<typeof startCluster>>;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    moderate(receiver);
    cluster = await startCluster({ overrides: { callbacks: callbackSettings(receiver.url) } });
    await cluster.users(["alice", "bob"]);
    await cluster.friends(["alice", "bob"]);
    await cluster.domainService(GroupServiceService, "alice").createGroup({
      groupId: "club",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [GroupMemberItem.fromPartial({ memberId: "bob" })],
    });
  }, 90_000);

  afterAll(async () => {
    await cluster?.close();
    await receiver?.close();
  });

  it("refuses, rewrites and reports messages as the app server says", async () => {
    await moderatedChat(
      {
        device: (userId, imei) =>
          cluster.device(userId, imei, { clientType: 3, endpoint: () => cluster.endpoint(0, "ws") }),
      },
      receiver,
    );
  }, 60_000);
});
