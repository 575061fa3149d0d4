import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_ID, DOMAIN_TARGET, TestCluster } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";
import { appClient, seed } from "./support/app-client.js";
import { type Device, Devices, endpoint, userRoutedTo } from "./support/devices.js";

/**
 * Issue 6's end-to-end chat in the distributed profile: gateway, domain and store as separate
 * `whaleshark` processes on PostgreSQL, Redis, RabbitMQ and ZooKeeper, with SDK users on
 * DIFFERENT gateways that they found through RouteService.GetGatewayAddress. Proves that a
 * message, its ACK, its sync copy, its delivery ACK (1107) and its read receipts (1053/1054,
 * 2054) cross gateway processes through the bus, that a device which was never online catches up
 * from the store, and that each ACKed message is stored once.
 */

const address = (e: { host: string; port: number }) => `${e.host}:${e.port}`;

const p2pFrom = (d: Device, fromId: string) =>
  d.messages.filter((m) => m.kind === "p2p" && m.message.fromId === fromId);

describe("distributed profile: SDK users on different gateways", () => {
  let cluster: TestCluster;
  let devices: Devices;

  beforeAll(async () => {
    cluster = await TestCluster.create();
    await cluster.start("store", 1);
    await cluster.start("domain", 1);
    await cluster.startAll(["gateway", 1], ["gateway", 2]);
    devices = new Devices(cluster);
  }, 60_000);

  afterAll(async () => {
    devices?.closeAll();
    await cluster?.close();
  }, 30_000);

  it("exchange P2P and group messages (ACKs, sync copies, 1107, read receipts), a new device catches up, each stored once", async () => {
    const [tcp1, tcp2] = [endpoint(cluster, "gateway-1", "tcp"), endpoint(cluster, "gateway-2", "tcp")];
    const ws2 = endpoint(cluster, "gateway-2", "ws");
    const router = appClient(cluster, ADMIN_ID, DOMAIN_TARGET);
    const alice = await userRoutedTo(router, "alice", tcp1);
    const bob = await userRoutedTo(router, "bob", tcp2);
    router.close();
    const [carol, dave] = ["carol", "dave"];
    await seed(cluster, {
      users: [alice, bob, carol, dave],
      friends: [
        [alice, bob],
        [alice, dave],
      ],
      groups: { crew: [alice, bob, carol] },
    });

    const alicePhone = await devices.connect({ userId: alice, imei: "alice-phone" });
    const bobPhone = await devices.connect({ userId: bob, imei: "bob-phone" });
    // Alice's second device sits on the other gateway, so her sync copies cross processes too.
    const aliceWeb = await devices.connect({
      userId: alice,
      imei: "alice-web",
      clientType: 1,
      fixed: ws2,
    });
    const carolPhone = await devices.connect({ userId: carol, imei: "carol-phone" });
    expect(alicePhone.gateways).toEqual([address(tcp1)]);
    expect(bobPhone.gateways).toEqual([address(tcp2)]);
    const acked: number[] = [];

    // P2P: gateway-1 → domain → bus → gateway-2.
    const hello = await alicePhone.client.sendP2P({ toId: bob, messageBody: "hello bob" });
    expect(hello).toMatchObject({ code: 200, ok: true });
    expect(hello.data?.messageSequence).toBe(1);
    const helloKey = hello.data?.messageKey as number;
    acked.push(helloKey);
    await eventually(
      () => {
        return p2pFrom(bobPhone, alice).length === 1 && p2pFrom(aliceWeb, alice).length === 1;
      },
      10_000,
      "bob gets the message, alice-web its sync copy",
    );
    expect(p2pFrom(bobPhone, alice)[0]).toMatchObject({ fromSelf: false, message: { messageKey: helloKey } });
    expect(p2pFrom(aliceWeb, alice)[0]).toMatchObject({ fromSelf: true, message: { messageKey: helloKey } });
    // Bob's SDK answered 1107; the domain relays it to every device of alice, on both gateways.
    for (const d of [alicePhone, aliceWeb]) {
      await eventually(() => d.receipts.some((r) => r.command === 1107), 10_000, `1107 on ${d.imei}`);
      expect(d.receipts.find((r) => r.command === 1107)?.data).toMatchObject({
        fromId: bob,
        toId: alice,
        messageKey: helloKey,
        serverSend: false,
      });
    }
    expect(bobPhone.client.markRead({ toId: alice, messageSequence: 1 })).toBe(true);
    for (const d of [alicePhone, aliceWeb]) {
      await eventually(() => d.receipts.some((r) => r.command === 1054), 10_000, `1054 on ${d.imei}`);
      expect(d.receipts.find((r) => r.command === 1054)?.data).toMatchObject({
        fromId: bob,
        messageSequence: 1,
      });
    }

    // The reply reaches both of alice's devices; her phone's read mark reaches her web device (1053).
    const reply = await bobPhone.client.sendP2P({ toId: alice, messageBody: "hi alice" });
    expect(reply.data?.messageSequence).toBe(2); // one counter per pair, both directions
    acked.push(reply.data?.messageKey as number);
    await eventually(
      () => {
        return p2pFrom(alicePhone, bob).length === 1 && p2pFrom(aliceWeb, bob).length === 1;
      },
      10_000,
      "alice's devices get the reply",
    );
    expect(alicePhone.client.markRead({ toId: bob, messageSequence: 2 })).toBe(true);
    await eventually(() => aliceWeb.receipts.some((r) => r.command === 1053), 10_000, "1053 on alice-web");
    await eventually(() => bobPhone.receipts.some((r) => r.command === 1054), 10_000, "1054 on bob");

    // Group: bob on gateway-2 → every other member's device, whichever gateway holds it.
    const groupAck = await bobPhone.client.sendGroup({ groupId: "crew", messageBody: "hi crew" });
    expect(groupAck).toMatchObject({ code: 200, ok: true });
    const groupKey = groupAck.data?.messageKey as number;
    acked.push(groupKey);
    const groupCopies = (d: Device) =>
      d.messages.filter((m) => m.kind === "group" && m.message.messageKey === groupKey);
    await eventually(
      () => [alicePhone, aliceWeb, carolPhone].every((d) => groupCopies(d).length === 1),
      10_000,
      "the group message on alice's and carol's devices",
    );
    expect(groupCopies(bobPhone)).toHaveLength(0);
    expect(carolPhone.client.markGroupRead({ groupId: "crew", messageSequence: 1, toId: bob })).toBe(true);
    await eventually(() => bobPhone.receipts.some((r) => r.command === 2054), 10_000, "2054 on bob");

    // Nobody of dave's is online: the server answers the 1107 itself.
    const toDave = await alicePhone.client.sendP2P({ toId: dave, messageBody: "are you there?" });
    acked.push(toDave.data?.messageKey as number);
    await eventually(
      () => alicePhone.receipts.some((r) => r.command === 1107 && r.data.toId === dave),
      10_000,
      "the server's 1107",
    );
    expect(alicePhone.receipts.find((r) => r.command === 1107 && r.data.toId === dave)?.data).toMatchObject({
      serverSend: true,
      messageKey: toDave.data?.messageKey,
    });

    // A device of bob's that was never online catches up: the gateway's sync reads the store.
    const bobPc = await devices.connect({ userId: bob, imei: "bob-pc", clientType: 4 });
    const bobKeys = [helloKey, reply.data?.messageKey, groupKey];
    await eventually(
      () => bobPc.messages.length === bobKeys.length,
      10_000,
      "bob-pc synced bob's conversations",
    );
    expect(new Set(bobPc.messages.map((m) => m.message.messageKey))).toEqual(new Set(bobKeys));
    expect(bobPc.messages.every((m) => m.synced)).toBe(true);

    // The store process wrote every ACKed message exactly once.
    const db = await cluster.db();
    const keys = acked.map(BigInt);
    await eventually(
      async () => {
        return (await db.messageBody.count({ where: { messageKey: { in: keys } } })) === keys.length;
      },
      10_000,
      "every ACKed message stored",
    );
    expect(await db.messageBody.count()).toBe(keys.length);
    expect(await db.groupMessageHistory.count({ where: { groupId: "crew" } })).toBe(1);
    expect(await db.messageHistory.count()).toBe(2 * 3); // owner rows of both sides, per P2P message
  }, 60_000);
});
