import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { FakeGateway, SIGN_OK, until } from "../test/wire/fake-gateway.js";
import { ClientError } from "./client-error.js";
import { type ChatMessage, MessageEncoding, WhaleSharkClient } from "./index.js";
import type { ClientOptions } from "./options.js";
import { tcpTransport } from "./transport/tcp.js";
import type { TransportFactory } from "./transport/transport.js";
import { wsTransport } from "./transport/ws.js";

let gateway: FakeGateway;
const clients: WhaleSharkClient[] = [];

beforeEach(async () => {
  gateway = await FakeGateway.start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await gateway.close();
});

type Variant = { name: string; transport: () => TransportFactory; encoding: MessageEncoding };
const VARIANTS: Variant[] = [
  { name: "TCP + JSON", transport: () => tcp(), encoding: MessageEncoding.JSON },
  { name: "TCP + Protobuf", transport: () => tcp(), encoding: MessageEncoding.PROTOBUF },
  { name: "WebSocket + JSON", transport: () => ws(), encoding: MessageEncoding.JSON },
  { name: "WebSocket + Protobuf", transport: () => ws(), encoding: MessageEncoding.PROTOBUF },
];

function tcp(): TransportFactory {
  return tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort });
}

function ws(): TransportFactory {
  return wsTransport({ url: gateway.wsUrl, WebSocket });
}

function client(overrides: Partial<ClientOptions> = {}): WhaleSharkClient {
  const c = new WhaleSharkClient({
    transport: tcp(),
    appId: 10001,
    userId: "alice",
    clientType: 3,
    imei: "android-1",
    userSign: SIGN_OK,
    resend: { initialMs: 40, maxMs: 200, jitter: 0, maxAttempts: 4 },
    reconnect: { initialMs: 20, maxMs: 200, jitter: 0 },
    ...overrides,
  });
  clients.push(c);
  return c;
}

/** Connects and waits for the catch-up after the login (pushes wait behind it). */
async function online(c: WhaleSharkClient): Promise<void> {
  const synced = new Promise((resolve) => c.on("synced", resolve));
  await c.connect();
  await synced;
}

/** A chat message; sequences start at 1 (the client syncs from cursor 0: it waits for sequence 1). */
const message = (key: number, fromId = "bob", messageSequence = key % 100) => ({
  appId: 10001,
  clientType: 1,
  extra: "",
  fromId,
  imei: "web",
  messageBody: `hello ${key}`,
  messageId: `m-${key}`,
  messageKey: key,
  messageSequence,
  messageTime: 1_700_000_000_000,
  toId: "alice",
});

describe.each(VARIANTS)("WhaleSharkClient over $name", ({ transport, encoding }) => {
  it("logs in with userId and userSign and gets LOGIN_ACK", async () => {
    const c = client({ transport: transport(), encoding });
    const ack = await c.connect();
    expect(ack).toMatchObject({ appId: 10001, clientType: 3, imei: "android-1", userId: "alice" });
    expect(c.state).toBe("online");
    const [login] = gateway.framesOf(9000);
    expect(login?.frame).toMatchObject({
      appId: 10001,
      clientType: 3,
      imei: "android-1",
      messageType: encoding,
    });
    expect(login?.data).toMatchObject({ userId: "alice", userSign: SIGN_OK });
  });

  it("sends a P2P message and resolves with its ACK", async () => {
    const c = client({ transport: transport(), encoding });
    await c.connect();
    const ack = await c.sendP2P({ toId: "bob", messageBody: "hi", messageId: "m1" });
    expect(ack).toMatchObject({ code: 200, ok: true, data: { messageId: "m1", messageKey: 1000 } });
    expect(gateway.framesOf(1103)[0]?.data).toMatchObject({ fromId: "alice", toId: "bob", messageId: "m1" });
  });

  it("sends an app's own resend with the first attempt's messageTime, and refuses a bad one before sending", async () => {
    const c = client({ transport: transport(), encoding });
    await c.connect();
    await c.sendP2P({ toId: "bob", messageBody: "again", messageId: "m9", messageTime: 1_700_000_123_456 });
    expect(gateway.framesOf(1103)[0]?.data).toMatchObject({
      messageId: "m9",
      messageTime: 1_700_000_123_456,
    });
    await expect(c.sendP2P({ toId: "bob", messageBody: "x", messageTime: -1 })).rejects.toThrow(
      /messageTime/,
    );
    expect(gateway.framesOf(1103)).toHaveLength(1);
  });

  it("receives pushed messages once, dropping redeliveries by messageKey, and acks each with 1107", async () => {
    const c = client({ transport: transport(), encoding });
    const seen: ChatMessage[] = [];
    c.on("message", (m) => seen.push(m));
    await online(c);
    const conn = gateway.connections[0]!;
    conn.push(1103, message(501));
    conn.push(1103, message(501)); // redelivery
    conn.push(1103, message(502));
    await until(() => gateway.framesOf(1107).length === 3);
    expect(seen.map((m) => m.message.messageKey)).toEqual([501, 502]);
    expect(seen[0]).toMatchObject({ kind: "p2p", fromSelf: false, message: { messageBody: "hello 501" } });
    expect(gateway.framesOf(1107)[0]?.data).toMatchObject({
      fromId: "alice",
      toId: "bob",
      messageKey: 501,
      messageSequence: 1,
    });
  });
});

describe("receiving", () => {
  it("routes group messages, sync copies, receipts and other pushes to their events", async () => {
    const c = client({ transport: ws() });
    const events: Array<[string, unknown]> = [];
    c.on("message", (m) => events.push([m.kind, m.fromSelf]));
    c.on("receipt", (r) => events.push(["receipt", r.command]));
    c.on("notification", (n) => events.push(["notification", n.command]));
    await online(c);
    const conn = gateway.connections[0]!;
    conn.push(2104, { ...message(601), groupId: "g1", memberIds: ["alice", "bob"] });
    conn.push(1103, message(602, "alice", 1)); // sync copy from this user's other device
    conn.push(1107, { fromId: "bob", toId: "alice", messageKey: 602, messageSequence: 1, serverSend: false });
    conn.push(1054, { conversationType: 0, fromId: "bob", groupId: "", messageSequence: 9, toId: "alice" });
    conn.push(3000, { fromId: "bob", toId: "alice", remark: "", addSource: "", sequence: 3 });
    await until(() => events.length === 5);
    expect(events).toEqual([
      ["group", false],
      ["p2p", true],
      ["receipt", 1107],
      ["receipt", 1054],
      ["notification", 3000],
    ]);
    // Neither group messages nor this user's own sync copies get a 1107.
    expect(gateway.framesOf(1107)).toHaveLength(0);
  });
});

describe("login", () => {
  it("rejects with login-refused and the server's code on a bad userSign", async () => {
    const c = client({ userSign: "forged" });
    const error = await c.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ reason: "login-refused", code: 60003 });
    expect(c.state).toBe("closed");
  });

  it("asks a userSign function for a fresh token at every login", async () => {
    let calls = 0;
    const c = client({
      userSign: async () => {
        calls++;
        return SIGN_OK;
      },
    });
    await c.connect();
    gateway.killAll();
    await until(() => gateway.framesOf(9000).length === 2 && c.state === "online");
    expect(calls).toBe(2);
  });

  it("pings at a third of the heartbeat interval the server announces", async () => {
    gateway.heartbeatIntervalMs = 150;
    const c = client();
    await c.connect();
    await until(() => gateway.framesOf(9999).length >= 3, 1_000);
    expect(gateway.framesOf(9999)[0]?.data).toMatchObject({ type: "ping" });
  });
});

describe("resend until ACK", () => {
  it("resends with the same messageId and bytes until the ACK arrives", async () => {
    gateway.ackPolicy = (_, attempt) => (attempt < 3 ? "drop" : "ack");
    const c = client();
    await c.connect();
    const ack = await c.sendP2P({ toId: "bob", messageBody: "retry me" });
    const sends = gateway.framesOf(1103);
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((s) => s.data.messageId)).size).toBe(1);
    expect(sends[2]?.frame.body).toEqual(sends[0]?.frame.body);
    expect(ack.data?.messageId).toBe(sends[0]?.data.messageId);
    expect(c.pendingCount).toBe(0);
  });

  it("keeps resending through a retryable refusal (domain down); after maxAttempts the outcome is unknown", async () => {
    gateway.ackPolicy = () => ({ code: 90000, msg: "down" });
    const c = client();
    await c.connect();
    const error = await c.sendGroup({ groupId: "g1", messageBody: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "unknown" });
    expect(gateway.framesOf(2104)).toHaveLength(4);
  });

  it("fails a send unanswered for resend.maxPendingMs as unknown, resending it until then", async () => {
    gateway.ackPolicy = () => "drop";
    const c = client({ resend: { initialMs: 40, maxMs: 80, jitter: 0, maxPendingMs: 400 } });
    await c.connect();
    const started = Date.now();
    const error = await c.sendP2P({ toId: "bob", messageBody: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "unknown" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(gateway.framesOf(1103).length).toBeGreaterThanOrEqual(3); // 0, 40, 120, 200, 280, 360 ms
    expect(new Set(gateway.framesOf(1103).map((s) => s.data.messageId)).size).toBe(1);
    expect(c.pendingCount).toBe(0);
  });

  it("holds sends past maxInFlight in the client and writes them in call order as ACKs come", async () => {
    const c = client({ maxInFlight: 2 });
    await c.connect();
    const sent = ["w1", "w2", "w3", "w4", "w5"].map((messageId) =>
      c.sendP2P({ toId: "bob", messageBody: messageId, messageId }),
    );
    expect([c.pendingCount, c.queuedCount]).toEqual([5, 3]);
    await Promise.all(sent);
    expect(gateway.framesOf(1103).map((s) => s.data.messageId)).toEqual(["w1", "w2", "w3", "w4", "w5"]);
    expect([c.pendingCount, c.queuedCount]).toEqual([0, 0]);
  });

  it("fails a send named by an error frame (9006)", async () => {
    gateway.ackPolicy = () => "drop";
    const c = client();
    await c.connect();
    const sent = c.sendP2P({ toId: "bob", messageBody: "x", messageId: "bad-1" });
    await until(() => gateway.framesOf(1103).length === 1);
    const errors: unknown[] = [];
    c.on("serverError", (e) => errors.push(e));
    gateway.connections[0]?.push(9006, {
      code: 60005,
      data: { command: 1103, messageId: "bad-1" },
      msg: "x",
      ok: false,
    });
    await expect(sent).rejects.toMatchObject({ reason: "refused", code: 60005 });
    expect(errors).toHaveLength(1);
  });
});

describe("reconnect", () => {
  it("reconnects with growing delays, runs the onReconnected hook, then resends pending messages", async () => {
    const attempts: number[] = [];
    let failing = 0;
    const inner = tcp();
    const flaky: TransportFactory = (sink) => {
      attempts.push(Date.now());
      if (failing > 0) {
        failing--;
        return Promise.reject(new Error("gateway down"));
      }
      return inner(sink);
    };
    const hook: string[] = [];
    const c = client({ transport: flaky, onReconnected: () => void hook.push("sync") });
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    c.on("reconnected", () => hook.push("reconnected"));
    await c.connect();

    gateway.ackPolicy = () => "drop";
    const sent = c.sendP2P({ toId: "bob", messageBody: "across the outage", messageId: "keep-1" });
    await until(() => gateway.framesOf(1103).length === 1);
    failing = 3;
    gateway.killAll();
    await until(() => c.state === "online" && attempts.length === 5, 5_000);

    // attempts[0] is the first connect; then 3 failures and the success, 20·2^n ms apart.
    const gaps = attempts.slice(2).map((t, i) => t - (attempts[i + 1] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(hook).toEqual(["sync", "reconnected"]);
    expect(states).toEqual(["connecting", "online", "reconnecting", "online"]);

    gateway.ackPolicy = () => "ack";
    await expect(sent).resolves.toMatchObject({ ok: true, data: { messageId: "keep-1" } });
    expect(gateway.framesOf(1103).every((r) => r.data.messageId === "keep-1")).toBe(true);
    expect(gateway.framesOf(9000)).toHaveLength(2);
  });

  it("stops for good when kicked (9002), failing pending sends", async () => {
    gateway.ackPolicy = () => "drop";
    const c = client({ transport: ws() });
    const kicked: unknown[] = [];
    c.on("kicked", (k) => kicked.push(k.data));
    await c.connect();
    const sent = c.sendP2P({ toId: "bob", messageBody: "x" });
    gateway.connections[0]?.push(9002, null);
    await expect(sent).rejects.toMatchObject({ reason: "kicked" });
    expect(c.state).toBe("closed");
    expect(kicked).toEqual([{ clientType: 1, command: 9002, toId: "alice", userId: "" }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gateway.framesOf(9000)).toHaveLength(1);
  });

  it("does not reconnect after close() or logout()", async () => {
    const c = client();
    await c.connect();
    await c.logout();
    await until(() => gateway.framesOf(9003).length === 1);
    expect(c.state).toBe("closed");
    await expect(c.sendP2P({ toId: "bob", messageBody: "x" })).rejects.toMatchObject({
      reason: "not-connected",
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gateway.framesOf(9000)).toHaveLength(1);
  });
});
