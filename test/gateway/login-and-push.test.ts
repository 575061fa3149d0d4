import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { deliveryQueue, sessionKey } from "../../lib/sessions/session-record.js";
import { eventually } from "../support/harness/eventually.js";
import { APP_ID, type Infra, login, memoryInfra, metric, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Done-when of issue 3: a client written from the spec alone (raw bytes, test/gateway/support/
 * raw-client.ts) logs in over TCP and over WebSocket and receives a message pushed to it, here
 * published as the domain does: one DeliveryBatch on the node's delivery queue.
 */
let infra: Infra;
let gateway: GatewayHandle;
const clients: RawClient[] = [];

beforeEach(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({ nodeId: "gw-a", infra: await infra.instance() });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway.stop();
  await infra.close();
});

async function open(kind: "tcp" | "ws"): Promise<RawClient> {
  const c = await RawClient.connect(kind, kind === "tcp" ? gateway.tcpPort : gateway.wsPort);
  clients.push(c);
  return c;
}

async function push(userId: string, command: number, data: object, imei = ""): Promise<void> {
  const { bus } = await infra.instance();
  const batch = DeliveryBatch.encode({
    deliveries: [
      {
        appId: APP_ID,
        userId,
        clientType: 1,
        imei,
        command,
        dataJson: Buffer.from(JSON.stringify(data)),
        closeAfter: false,
        connectionId: "",
      },
    ],
    payloads: [],
  }).finish();
  await bus.publish(deliveryQueue(gateway.nodeId), batch);
}

const message = {
  appId: APP_ID,
  clientType: 1,
  fromId: "u2",
  imei: "web",
  messageBody: "hello",
  messageId: "m1",
  messageKey: 42,
  messageSequence: 1,
  toId: "u1",
};

describe("raw-bytes client (spec §2)", () => {
  it("logs in over TCP, gets LOGIN_ACK with data-only JSON, and receives a pushed 1103", async () => {
    const c = await open("tcp");
    const before = Date.now();
    const ack = await login(c, "u1", { clientType: 1, imei: "web" });
    expect(ack.json).toMatchObject({
      appId: APP_ID,
      clientType: 1,
      heartbeatIntervalMs: 90_000,
      imei: "web",
      userId: "u1",
    });
    expect((ack.json as { serverTime: number }).serverTime).toBeGreaterThanOrEqual(before);

    // The session record the domain reads (lib/sessions): this node, this connection, online.
    const kv = await infra.kv();
    const hash = await kv.hgetall(sessionKey(APP_ID, "u1"));
    const record = JSON.parse(hash["1:web"] ?? "{}");
    expect(record).toMatchObject({ appId: APP_ID, userId: "u1", clientType: 1, imei: "web", nodeId: "gw-a" });
    expect(record.connectState).toBe(1);

    await push("u1", 1103, message);
    const frame = await c.next();
    expect(frame.command).toBe(1103);
    // Spec §2.2: over TCP only MessagePack.data travels, byte for byte as published.
    expect(frame.text).toBe(JSON.stringify(message));
  });

  it("logs in over WebSocket and receives the whole MessagePack (spec §2.3)", async () => {
    const c = await open("ws");
    const ack = await login(c, "u1", { clientType: 1, imei: "web" });
    expect(ack.json).toMatchObject({
      appId: APP_ID,
      clientType: 1,
      command: 9001,
      data: { appId: APP_ID, clientType: 1, imei: "web", userId: "u1" },
      imei: "web",
      toId: "u1",
    });
    await push("u1", 1103, message, "web");
    const frame = await c.next();
    expect(frame.command).toBe(1103);
    expect(frame.text).toBe(
      `{"appId":${APP_ID},"clientType":1,"command":1103,"data":${JSON.stringify(message)},"imei":"web","toId":"u1"}`,
    );
  });

  it("accepts the spec's example LOGIN frame byte for byte when auth.login is open", async () => {
    await gateway.stop();
    gateway = await startTestGateway({
      nodeId: "gw-open",
      infra: await infra.instance(),
      overrides: { auth: { login: "open" } },
    });
    const c = await open("tcp");
    // Spec §2.1: LOGIN, version 1, clientType 1, messageType 0, appId 10001, imei "web", {"userId":"10001"}.
    const hex =
      "00002328 00000001 00000001 00000000 00002711 00000003 00000012 776562 7b22757365724964223a223130303031227d";
    const bytes = Buffer.from(hex.replace(/ /g, ""), "hex");
    expect(bytes.length).toBe(49);
    // Split across two writes: the decoder waits for the whole frame (D20).
    c.sendBytes(bytes.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 30));
    c.sendBytes(bytes.subarray(10));
    const ack = await c.next();
    expect(ack.command).toBe(9001);
    expect(ack.json).toMatchObject({ userId: "10001", imei: "web", appId: APP_ID });
  });

  it("routes a delivery to exactly the named device and drops unknown targets", async () => {
    const web = await open("ws");
    const tcp = await open("tcp");
    await login(web, "u1", { clientType: 1, imei: "web" });
    await login(tcp, "u1", { clientType: 4, imei: "pc" });
    await push("u1", 1103, message, "web"); // clientType 1 + imei web: only the WebSocket
    await push("nobody", 1103, message);
    await push("u1", 1103, { ...message, messageId: "m2" }); // every device of u1 on this node
    expect((await web.next()).json).toMatchObject({ data: { messageId: "m1" } });
    expect((await web.next()).json).toMatchObject({ data: { messageId: "m2" } });
    expect((await tcp.next()).json).toMatchObject({ messageId: "m2" });
    await eventually(
      async () =>
        (await metric(gateway, "whaleshark_gateway_deliveries_total", { result: "unknown-target" })) === 1,
    );
    expect(await metric(gateway, "whaleshark_gateway_deliveries_total", { result: "written" })).toBe(3);
  });

  it("answers in Protobuf to a connection that logged in with messageType 1", async () => {
    const { LoginPack, LoginAckPack } = await import("../../gen/ts/whaleshark/v1/envelope.js");
    const { userSign } = await import("./support/harness.js");
    const c = await open("tcp");
    const body = LoginPack.encode({ userId: "u9", userSign: userSign("u9") }).finish();
    c.send({ command: 9000, clientType: 3, imei: "droid", messageType: 1, body });
    const ack = await c.next();
    expect(ack.command).toBe(9001);
    expect(LoginAckPack.decode(ack.payload)).toMatchObject({ userId: "u9", clientType: 3, imei: "droid" });
  });

  it("serves its metrics on /metrics", async () => {
    const c = await open("tcp");
    await login(c, "u1");
    const text = await (await fetch(`http://127.0.0.1:${gateway.metricsPort}/metrics`)).text();
    expect(text).toContain(
      'whaleshark_gateway_connections{transport="tcp",client_type="1",role="gateway",node="gw-a"} 1',
    );
    expect(text).toMatch(/whaleshark_gateway_logins_total\{transport="tcp",result="ok"[^}]*\} 1/);
  });
});
