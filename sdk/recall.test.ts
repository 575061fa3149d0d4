import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeGateway, SIGN_OK, until } from "../test/wire/fake-gateway.js";
import { ClientError } from "./client-error.js";
import { MessageEncoding, WhaleSharkClient } from "./index.js";
import { Recalls, validateRecall } from "./recall.js";
import { tcpTransport } from "./transport/tcp.js";

let gateway: FakeGateway;
const clients: WhaleSharkClient[] = [];

beforeEach(async () => {
  gateway = await FakeGateway.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway.close();
});

async function online(encoding: MessageEncoding): Promise<WhaleSharkClient> {
  const c = new WhaleSharkClient({
    transport: tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort }),
    appId: 10001,
    userId: "alice",
    clientType: 1,
    imei: "web-1",
    userSign: SIGN_OK,
    encoding,
    loginTimeoutMs: 300,
    reconnect: false,
  });
  clients.push(c);
  await c.connect();
  return c;
}

const input = {
  conversationType: 0,
  toId: "bob",
  messageKey: 4242,
  messageSequence: 7,
  messageTime: 1_700_000_000_000,
} as const;

describe.each([
  ["JSON", MessageEncoding.JSON],
  ["Protobuf", MessageEncoding.PROTOBUF],
])("WhaleSharkClient.recall over TCP + %s", (_name, encoding) => {
  it("sends 1050 with the message's fields and the user as fromId, resolves on a 200 ACK 1051", async () => {
    const c = await online(encoding);
    const done = c.recall(input);
    await until(() => gateway.framesOf(1050).length === 1);
    const [frame] = gateway.framesOf(1050);
    expect(frame?.data).toMatchObject({
      fromId: "alice",
      toId: "bob",
      messageKey: 4242,
      messageSequence: 7,
      conversationType: 0,
    });
    frame?.conn.push(1051, { code: 200, data: { messageKey: 4242 }, msg: "success", ok: true });
    await expect(done).resolves.toBeUndefined();
  });

  it("rejects with `refused` and the server's code when the ACK refuses (50004 past the window)", async () => {
    const c = await online(encoding);
    const done = c.recall(input);
    await until(() => gateway.framesOf(1050).length === 1);
    gateway
      .framesOf(1050)[0]
      ?.conn.push(1051, { code: 50004, data: { messageKey: 4242 }, msg: "too late", ok: false });
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ reason: "refused", code: 50004 });
  });

  it("emits `recall` (and a notification) for MSG_RECALL_NOTIFY 1052", async () => {
    const c = await online(encoding);
    const seen: unknown[] = [];
    const notified: number[] = [];
    c.on("recall", (n) => seen.push(n));
    c.on("notification", (n) => notified.push(n.command));
    gateway.connections[0]?.push(1052, {
      conversationType: 0,
      fromId: "bob",
      messageKey: 99,
      messageSequence: 3,
      toId: "alice",
    });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ fromId: "bob", messageKey: 99, messageSequence: 3 });
    expect(notified).toEqual([1052]);
  });
});

describe("WhaleSharkClient.recall without an answer", () => {
  it("rejects with `request-timeout` when no 1051 comes, and `not-connected` when offline", async () => {
    const c = await online(MessageEncoding.JSON);
    await expect(c.recall(input)).rejects.toMatchObject({ reason: "request-timeout" });
    c.close();
    await expect(c.recall(input)).rejects.toMatchObject({ reason: "not-connected" });
  });

  it("rejects a bad input before writing anything", async () => {
    const c = await online(MessageEncoding.JSON);
    await expect(c.recall({ ...input, messageKey: 0 })).rejects.toThrow(/messageKey/);
    await expect(c.recall({ ...input, toId: "" })).rejects.toThrow(/toId/);
    expect(gateway.framesOf(1050)).toHaveLength(0);
  });

  it("fails a waiting recall with connection-lost when the connection drops", async () => {
    const c = await online(MessageEncoding.JSON);
    const done = c.recall(input);
    await until(() => gateway.framesOf(1050).length === 1);
    gateway.killAll();
    await expect(done).rejects.toMatchObject({ reason: "connection-lost" });
  });
});

describe("Recalls", () => {
  it("shares one answer between two recalls of the same message and ignores foreign ACKs", async () => {
    const r = new Recalls(1_000);
    let writes = 0;
    const a = r.start(1, () => ++writes > 0);
    const b = r.start(1, () => ++writes > 0);
    expect(writes).toBe(1);
    expect(r.onAck({ code: 200, data: { messageKey: 2 }, msg: "success", ok: true })).toBe(false);
    expect(r.onAck({ code: 200, data: { messageKey: 1 }, msg: "success", ok: true })).toBe(true);
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
    expect(r.size).toBe(0);
  });

  it("validateRecall names the bad field", () => {
    expect(() => validateRecall({ ...input, conversationType: 2 as 0 })).toThrow(/conversationType/);
    expect(() => validateRecall({ ...input, messageTime: -1 })).toThrow(/messageTime/);
    expect(() => validateRecall({ ...input, messageSequence: 1.5 })).toThrow(/messageSequence/);
  });
});
