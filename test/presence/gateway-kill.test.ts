import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningMember } from "../../app/local-cluster.js";
import { PresenceServiceService } from "../../gen/ts/whaleshark/v1/presence_service.js";
import type { AppClient } from "../../lib/app-client/index.js";
import { type PresenceEvent, WhaleSharkClient } from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { appClient, seed } from "../cluster/support/app-client.js";
import { type Device, Devices, endpoint } from "../cluster/support/devices.js";
import { send } from "../http/http-client.js";
import { APP_ID, DOMAIN_TARGET, NAMES, TestCluster } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";

/**
 * Presence across two gateway processes (distributed profile: store, domain and two gateways as
 * separate `whaleshark` processes on PostgreSQL, Redis, RabbitMQ and ZooKeeper). alice has a phone
 * on gateway-1 and a laptop on gateway-2; bob (her friend) and carol (a subscriber) watch her from
 * gateway-2. gateway-1 is SIGKILLed: nothing tells anyone, and the domain's sweep must find the
 * phone's record gone stale and push it offline within the session TTL. The HTTP API answers the
 * query on the domain's port.
 */

const HEARTBEAT_MS = 2000;
const SESSION_TTL_MS = 6000;

describe("presence across two gateways, one SIGKILLed (distributed processes)", () => {
  let cluster: TestCluster;
  let devices: Devices;
  let domainHttp: string;
  let carolApi: AppClient;
  const events = new Map<string, Array<PresenceEvent & { at: number }>>();

  const watch = (device: Device) => {
    const list: Array<PresenceEvent & { at: number }> = [];
    events.set(`${device.userId}/${device.imei}`, list);
    device.client.on("presence", (e) => list.push({ ...e, at: Date.now() }));
    return list;
  };

  beforeAll(async () => {
    cluster = await TestCluster.create({
      env: {
        WHALESHARK_GATEWAY__HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_MS),
        WHALESHARK_GATEWAY__SESSION_TTL_MS: String(SESSION_TTL_MS),
        WHALESHARK_GATEWAY__LOGIN_MODE: "4", // every device of a user stays logged in
        WHALESHARK_PRESENCE__COALESCE_MS: "300",
        WHALESHARK_PRESENCE__SWEEP_INTERVAL_MS: "200",
      },
    });
    await cluster.start("store", 1);
    const domain: RunningMember = await cluster.start("domain", 1);
    await cluster.start("gateway", 1);
    await cluster.start("gateway", 2);
    const i = domain.instances[NAMES.domain];
    if (i === undefined) throw new Error("domain-1 has no registration");
    domainHttp = `http://${i.host}:${i.port}`;
    await seed(cluster, { users: ["alice", "bob", "carol"], friends: [["alice", "bob"]] });
    devices = new Devices(cluster);
    carolApi = appClient(cluster, "carol", DOMAIN_TARGET);
  }, 120_000);

  afterAll(async () => {
    devices?.closeAll();
    carolApi?.close();
    await cluster?.close();
  }, 30_000);

  it("pushes logins to friends, subscribers and own devices, and a dead gateway's device offline within the session TTL", async () => {
    const gw1 = endpoint(cluster, "gateway-1", "tcp");
    const gw2 = endpoint(cluster, "gateway-2", "tcp");
    const subscribed = await carolApi.call(PresenceServiceService.subscribe, {
      userIds: ["alice"],
      ttlSeconds: 600,
    });
    expect(subscribed.users).toEqual([expect.objectContaining({ userId: "alice", status: 2, devices: [] })]);

    const bob = await devices.connect({ userId: "bob", imei: "bob-phone", fixed: gw2, reconnect: false });
    const carol = await devices.connect({
      userId: "carol",
      imei: "carol-phone",
      fixed: gw2,
      reconnect: false,
    });
    const bobSaw = watch(bob);
    const carolSaw = watch(carol);
    const laptop = await devices.connect({ userId: "alice", imei: "laptop", fixed: gw2, reconnect: false });
    const laptopSaw = watch(laptop);
    await eventually(
      () => bobSaw.some((e) => e.data.imei === "laptop" && e.data.status === 1),
      10_000,
      "bob sees the laptop online",
    );
    const phone = await devices.connect({ userId: "alice", imei: "phone", fixed: gw1, reconnect: false });
    const phoneSaw = watch(phone);

    const online = (list: PresenceEvent[]) =>
      list.some((e) => e.data.imei === "phone" && e.data.status === 1);
    await eventually(
      () => online(bobSaw) && online(carolSaw) && online(laptopSaw),
      10_000,
      "the phone online at bob, carol and the laptop",
    );
    expect(bobSaw.find((e) => e.data.imei === "phone")).toMatchObject({
      command: 4004,
      data: { appId: APP_ID, userId: "alice", clientType: 3, imei: "phone", status: 1 },
    });
    expect(laptopSaw.find((e) => e.data.imei === "phone")?.command).toBe(4005);
    // The phone is told nothing about itself.
    expect(phoneSaw.filter((e) => e.data.imei === "phone")).toEqual([]);

    // A device that stops sending (no PING) is closed by its gateway's heartbeat check: offline.
    const silent = new WhaleSharkClient({
      transport: tcpTransport({ host: gw2.host, port: gw2.port }),
      appId: APP_ID,
      userId: "alice",
      clientType: 5,
      imei: "silent-mac",
      userSign: () => cluster.sign("alice"),
      heartbeatMs: 600_000,
      reconnect: false,
    });
    try {
      await silent.connect();
      const silentState = (status: number) => () =>
        bobSaw.some((e) => e.data.imei === "silent-mac" && e.data.status === status);
      await eventually(silentState(1), 10_000, "bob sees the silent device online");
      await eventually(silentState(2), 4 * HEARTBEAT_MS, "bob sees it offline after the heartbeat timeout");
    } finally {
      silent.close();
    }

    const killedAt = Date.now();
    await cluster.kill("gateway-1");
    const offline = (list: Array<PresenceEvent & { at: number }>) =>
      list.find((e) => e.data.imei === "phone" && e.data.status === 2);
    await eventually(
      () => offline(bobSaw) !== undefined && offline(carolSaw) !== undefined,
      SESSION_TTL_MS + 5000,
      "the phone offline at bob and carol",
    );
    const seenAt = Math.max(offline(bobSaw)?.at ?? Number.NaN, offline(carolSaw)?.at ?? Number.NaN);
    console.log(`presence: gateway-1 killed, its device pushed offline after ${seenAt - killedAt} ms`);
    expect(seenAt - killedAt).toBeLessThanOrEqual(SESSION_TTL_MS);
    expect(laptopSaw.some((e) => e.command === 4005 && e.data.imei === "phone" && e.data.status === 2)).toBe(
      true,
    );
    // Pushed once each, not once per sweep.
    expect(bobSaw.filter((e) => e.data.imei === "phone" && e.data.status === 2)).toHaveLength(1);

    // The HTTP API (Connect-style route and the annotated path) on the domain's port.
    const query = new URLSearchParams({
      appId: String(APP_ID),
      identifier: "bob",
      userSign: cluster.sign("bob"),
    });
    const connect = await send(
      domainHttp,
      "/whaleshark.v1.PresenceService/QueryPresence",
      { userIds: ["alice", "nobody"] },
      { query: query.toString() },
    );
    expect(connect.status).toBe(200);
    expect(connect.body).toMatchObject({
      users: [
        {
          userId: "alice",
          status: 1,
          devices: [
            { imei: "laptop", status: 1 },
            { imei: "phone", status: 2 }, // stale: its gateway died
            { clientType: 5, imei: "silent-mac", status: 2 }, // closed: kept offline until its session expires
          ],
        },
        { userId: "nobody", status: 2 },
      ],
    });
    const annotated = await send(
      domainHttp,
      "/v1/presence/query",
      { appId: APP_ID, operater: "bob", userIds: ["alice"] },
      { query: query.toString() },
    );
    expect(annotated.status).toBe(200);
    expect(annotated.body).toMatchObject({ code: 200, data: { users: [{ userId: "alice", status: 1 }] } });
  }, 60_000);
});
