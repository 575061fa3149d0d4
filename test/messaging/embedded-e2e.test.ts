import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService, ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { isolatedEnv, type RunningCli, startCli } from "../support/cli.js";
import { grpcCaller } from "../support/grpc-caller.js";
import { ADMIN, APP_ID, APP_KEY } from "../support/harness/app.js";
import { eventually } from "../support/harness/eventually.js";
import { TestDevice } from "./support/device.js";
import { settled } from "./support/settle.js";

/**
 * Issue 6 item 9: `whaleshark start` (the embedded profile: every role in one child process,
 * memory kv and bus, PGlite) carries a whole chat for SDK clients. The app admin sets up users,
 * a friendship and a group over gRPC with app credentials (the test app, the demo app of the embedded profile);
 * two users and a second device of the sender then exchange P2P and group messages with ACKs,
 * receive ACKs, read receipts and a recall. A device that lost the network catches up through
 * its SDK's sync (9007) when it reconnects, exactly with what it missed, in order; a brand-new
 * device gets the whole history with the recalled message flagged. The gateway's ports come from
 * its "gateway listening" log line; SIGTERM then drains the process, which exits 0.
 */

const APP = APP_ID;
const KEY = APP_KEY;

describe("whaleshark start: a whole chat end to end", () => {
  let cli: RunningCli;
  let domain: string;
  let store: string;
  let tcpPort: number;
  let wsPort: number;
  const devices: TestDevice[] = [];
  const channels: Array<{ close(): void }> = [];

  const device = (userId: string, imei: string, clientType: number, kind: "tcp" | "ws") => {
    const d = new TestDevice({
      appId: APP,
      privateKey: KEY,
      userId,
      imei,
      clientType,
      endpoint: () => ({ kind, port: kind === "tcp" ? tcpPort : wsPort }),
      client: { reconnect: { initialMs: 100, maxMs: 300, factor: 2, jitter: 0.2 } },
    });
    devices.push(d);
    return d;
  };
  const service = <D extends object>(address: string, definition: D, userId: string) => {
    const c = grpcCaller(address, definition, { appId: APP, privateKey: KEY, userId });
    channels.push(c);
    return c.call;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    cli = startCli(
      ["start"],
      await isolatedEnv({
        WHALESHARK_APPS: JSON.stringify({ [APP]: { privateKey: KEY, adminIds: [ADMIN] } }),
      }),
    );
    const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 60_000);
    const roles = Object.fromEntries(
      (started.roles as string[]).map((r) => r.split("@") as [string, string]),
    ) as Record<string, string>;
    const local = (address: string | undefined) => (address ?? "").replace("0.0.0.0", "127.0.0.1");
    domain = local(roles.domain);
    store = local(roles.store);
    const listening = await cli.waitForLog((l) => l.msg === "gateway listening", 1_000);
    tcpPort = listening.tcpPort as number;
    wsPort = listening.wsPort as number;
    console.info(`whaleshark start: up in ${Date.now() - t0} ms (tcp ${tcpPort}, ws ${wsPort})`);

    const users = service(domain, UserServiceService, ADMIN);
    const imported = await users.importUsers({
      userData: ["alice", "bob"].map((userId) =>
        UserData.fromPartial({ userId, nickName: userId, userType: 1 }),
      ),
    });
    expect(imported.successId.sort()).toEqual(["alice", "bob"]);
    const friendships = service(domain, FriendshipServiceService, ADMIN);
    for (const [fromId, toId] of [
      ["alice", "bob"],
      ["bob", "alice"],
    ] as const) {
      const res = await friendships.importFriendships({
        fromId,
        friendItem: [ImportFriendItem.fromPartial({ toId })],
      });
      expect(res.successId).toEqual([toId]);
    }
    await service(domain, GroupServiceService, "alice").createGroup({
      groupId: "lunch",
      groupName: "lunch",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [GroupMemberItem.fromPartial({ memberId: "bob" })],
    });
  }, 90_000);

  afterAll(async () => {
    for (const d of devices) d.close();
    for (const c of channels) c.close();
    if (cli !== undefined && cli.child.exitCode === null) cli.child.kill("SIGKILL");
  });

  it("carries P2P and group messages with ACKs, receipts, read receipts, recall and offline catch-up", async () => {
    const alicePhone = device("alice", "alice-phone", 3, "tcp");
    const aliceWeb = device("alice", "alice-web", 1, "ws"); // the sender's second device
    const bobPhone = device("bob", "bob-phone", 3, "tcp");
    const bobDesktop = device("bob", "bob-desktop", 4, "ws"); // loses the network for a while
    for (const d of [alicePhone, aliceWeb, bobPhone, bobDesktop]) await d.connect();

    // P2P: ACK 1046 with key and sequence, delivery to bob's devices, the sync copy to alice's
    // web, and bob's receive ACK 1107 relayed to the sending phone.
    const hello = await alicePhone.client.sendP2P({
      toId: "bob",
      messageBody: "hello bob",
      messageId: "a-1",
    });
    expect(hello).toMatchObject({ code: 200, ok: true, data: { messageId: "a-1", messageSequence: 1 } });
    const helloKey = hello.data?.messageKey as number;
    const has = (d: TestDevice, key: number) => d.chat().some((m) => m.message.messageKey === key);
    await eventually(() => has(bobPhone, helloKey) && has(bobDesktop, helloKey) && has(aliceWeb, helloKey));
    expect(bobPhone.chat()[0]).toMatchObject({
      kind: "p2p",
      fromSelf: false,
      message: { messageBody: "hello bob" },
    });
    expect(aliceWeb.chat()[0]).toMatchObject({ kind: "p2p", fromSelf: true });
    await eventually(() => alicePhone.receiptsOf(1107).length > 0);
    expect(alicePhone.receiptsOf(1107)[0]?.data).toMatchObject({
      fromId: "bob",
      messageKey: helloKey,
      serverSend: false,
    });

    // A resend of the same messageId gets the same ACK and shows nothing twice.
    const again = await alicePhone.client.sendP2P({
      toId: "bob",
      messageBody: "hello bob",
      messageId: "a-1",
    });
    expect(again.data).toEqual(hello.data);

    const reply = await bobPhone.client.sendP2P({ toId: "alice", messageBody: "hi alice" });
    expect(reply.data?.messageSequence).toBe(2);
    await eventually(() => has(alicePhone, reply.data?.messageKey as number));

    // Read receipt: bob read up to 2 on his phone; 1053 to his desktop, 1054 to both of alice's devices.
    expect(bobPhone.client.markRead({ toId: "alice", messageSequence: 2 })).toBe(true);
    await eventually(
      () =>
        bobDesktop.receiptsOf(1053).length === 1 &&
        alicePhone.receiptsOf(1054).length === 1 &&
        aliceWeb.receiptsOf(1054).length === 1,
    );
    expect(alicePhone.receiptsOf(1054)[0]?.data).toMatchObject({
      fromId: "bob",
      toId: "alice",
      messageSequence: 2,
    });

    // Group: ACK 2047, delivery to bob's devices and the sync copy to alice's web; a read receipt.
    const groupAck = await alicePhone.client.sendGroup({ groupId: "lunch", messageBody: "noon?" });
    expect(groupAck).toMatchObject({ code: 200, ok: true });
    const groupKey = groupAck.data?.messageKey as number;
    await eventually(() => has(bobPhone, groupKey) && has(bobDesktop, groupKey) && has(aliceWeb, groupKey));
    expect(bobPhone.chat().find((m) => m.kind === "group")?.message).toMatchObject({
      groupId: "lunch",
      fromId: "alice",
    });
    const groupSeq = groupAck.data?.messageSequence as number;
    expect(
      bobPhone.client.markGroupRead({ groupId: "lunch", messageSequence: groupSeq, toId: "alice" }),
    ).toBe(true);
    await eventually(
      () => alicePhone.receiptsOf(2054).length === 1 && aliceWeb.receiptsOf(2054).length === 1,
    );

    // Recall within the window: 1051 to the phone, 1052 to every other device of both users.
    expect(
      alicePhone.inject(1050, { conversationType: 0, toId: "bob", messageKey: helloKey, messageSequence: 1 }),
    ).toBe(true);
    await eventually(() => alicePhone.notificationsOf(1051).length === 1);
    expect(alicePhone.notificationsOf(1051)[0]).toMatchObject({ code: 200, ok: true });
    await eventually(() =>
      [aliceWeb, bobPhone, bobDesktop].every((d) => d.notificationsOf(1052).length === 1),
    );
    await settled(devices);
    expect(alicePhone.notificationsOf(1052)).toEqual([]);

    // Offline catch-up: bob's desktop loses the network; alice writes three more and one to the
    // group; the same client reconnects and its SDK fetches exactly what it missed (9007), in order.
    bobDesktop.goOffline();
    await eventually(() => bobDesktop.client.state === "reconnecting");
    await new Promise((r) => setTimeout(r, 300)); // the gateway marks the session offline
    const shownBefore = bobDesktop.messages.length;
    const missed: number[] = [];
    for (const body of ["one", "two", "three"]) {
      const ack = await alicePhone.client.sendP2P({ toId: "bob", messageBody: body });
      missed.push(ack.data?.messageKey as number);
    }
    const missedGroup = await alicePhone.client.sendGroup({ groupId: "lunch", messageBody: "see you" });
    missed.push(missedGroup.data?.messageKey as number);
    await eventually(() => missed.every((k) => has(bobPhone, k)));
    expect(bobDesktop.messages.length).toBe(shownBefore);
    bobDesktop.goOnline();
    await eventually(() => bobDesktop.messages.length >= shownBefore + missed.length, 15_000, "catch-up");
    await settled([bobDesktop], 1_500); // the SDK's second, late catch-up brings nothing more
    const caught = bobDesktop.chat().slice(shownBefore);
    expect(caught.map((m) => m.message.messageKey)).toEqual(missed);
    expect(caught.every((m) => m.synced && !m.fromSelf)).toBe(true);
    expect(caught.map((m) => m.message.messageBody)).toEqual(["one", "two", "three", "see you"]);

    // A brand-new device of bob (nothing kept) gets the whole history, recalled message flagged.
    const fresh = device("bob", "bob-browser", 1, "ws");
    await fresh.connect();
    await eventually(() => fresh.messages.length >= 7, 15_000, "first catch-up");
    await settled([fresh], 1_500);
    const p2p = fresh.chat().filter((m) => m.kind === "p2p");
    expect(p2p.map((m) => m.message.messageSequence)).toEqual([1, 2, 3, 4, 5]);
    expect(p2p[0]).toMatchObject({
      synced: true,
      recalled: true,
      message: { messageKey: helloKey, messageBody: "" },
    });
    expect(p2p[1]).toMatchObject({ fromSelf: true, message: { messageBody: "hi alice" } });
    const lunch = fresh.chat().filter((m) => m.kind === "group");
    expect(lunch.map((m) => m.message.messageKey)).toEqual([groupKey, missedGroup.data?.messageKey]);

    // The store's HistoryService (gRPC, app credentials) tells the same story.
    const history = service(store, HistoryServiceService, "bob");
    const all = await history.syncP2PMessages({ appId: APP, operater: "bob", toId: "alice" });
    expect(all.dataList.map((m) => m.messageSequence)).toEqual([1, 2, 3, 4, 5]);
    expect(all.dataList[0]).toMatchObject({ messageKey: helloKey, recalled: true, messageBody: "" });

    // SIGTERM drains and exits 0.
    for (const d of devices) d.close();
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  }, 60_000);
});
