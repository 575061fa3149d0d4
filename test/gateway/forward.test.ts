import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { SessionCloseReason } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { userChangeTokenKey } from "../../lib/change-tokens/change-token-keys.js";
import {
  encodeReceiptEntry,
  encodeVerdict,
  p2pReceiptKey,
  pairVerdictKey,
  verdictOrder,
} from "../../lib/push/receipt-index.js";
import { sessionKey } from "../../lib/sessions/session-record.js";
import { eventually } from "../support/harness/eventually.js";
import { FakeDomain } from "./support/fake-domain.js";
import { APP_ID, type Infra, login, memoryInfra, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Issue 3 item 6: chat frames go to the domain's ChatService over gRPC with a deadline; a domain
 * that refuses, is slow or is down yields the command's error ACK, never a logout (D22). The
 * domain is a real grpc-js server in the test (FakeDomain).
 */
const SECRET = "test-internal-secret-0123456789";
const TIMEOUT_MS = 300;
let infra: Infra;
let domain: FakeDomain;
let gateway: GatewayHandle;
let seq = 0;

beforeAll(async () => {
  infra = memoryInfra();
  domain = new FakeDomain();
  const address = await domain.start();
  gateway = await startTestGateway({
    nodeId: "gw-fwd",
    infra: await infra.instance(),
    overrides: {
      gateway: { forwardTimeoutMs: TIMEOUT_MS },
      discovery: { domain: address },
      domain: { internalSecret: SECRET },
    },
  });
});

afterAll(async () => {
  await gateway.stop();
  await domain.stop();
  await infra.close();
});

beforeEach(() => {
  domain.behaviour = {};
  domain.calls.length = 0;
});

/**
 * What the domain writes for a P2P message from `fromId` to `toId` (lib/push/receipt-index.ts):
 * its receipt index entry, and the pair's verdict under both users' current change tokens.
 */
async function receiptRecords(
  fromId: string,
  toId: string,
  m: { messageKey: number; messageSequence: number },
  ok: boolean,
): Promise<void> {
  const kv = await infra.kv();
  await kv.set(
    p2pReceiptKey(APP_ID, fromId, toId, m.messageSequence),
    encodeReceiptEntry({ messageKey: m.messageKey, fromId }),
  );
  const [a, b] = verdictOrder(fromId, toId);
  await kv.set(userChangeTokenKey(APP_ID, a), `t-${a}`);
  await kv.set(userChangeTokenKey(APP_ID, b), `t-${b}`);
  await kv.set(pairVerdictKey(APP_ID, fromId, toId), encodeVerdict({ tokens: [`t-${a}`, `t-${b}`], ok }));
}

async function user(kind: "tcp" | "ws" = "tcp"): Promise<{ c: RawClient; userId: string }> {
  const userId = `fwd-${++seq}`;
  const c = await RawClient.connect(kind, kind === "tcp" ? gateway.tcpPort : gateway.wsPort);
  await login(c, userId, { clientType: 3, imei: "phone" });
  return { c, userId };
}

describe("forwarding to the domain ChatService", () => {
  it("1103 → SendP2PMessage with the session from the login, answered by 1046 (spec §5.5)", async () => {
    const { c, userId } = await user();
    c.send({
      command: 1103,
      clientType: 3,
      imei: "phone",
      body: { toId: "peer", messageId: "m1", messageBody: "hi" },
    });
    const ack = await c.next();
    expect(ack.command).toBe(1046);
    expect(ack.text).toBe(
      '{"code":200,"data":{"messageId":"m1","messageKey":99,"messageSequence":7},"msg":"success","ok":true}',
    );
    const [call] = domain.of("sendP2PMessage");
    expect(call?.metadata.get("x-whaleshark-internal")).toEqual([SECRET]);
    expect(call?.request).toMatchObject({
      session: { appId: APP_ID, userId, clientType: 3, imei: "phone", gatewayNodeId: "gw-fwd" },
      content: {
        fromId: userId,
        toId: "peer",
        messageId: "m1",
        messageBody: "hi",
        appId: APP_ID,
        clientType: 3,
        imei: "phone",
      },
    });
    c.close();
  });

  it("a refusal by the domain becomes the error ACK with its code and the messageId", async () => {
    const { c } = await user();
    domain.behaviour = { refuse: "FRIEND_IS_BLACK" };
    c.send({ command: 1103, body: { toId: "peer", messageId: "m2" } });
    const ack = await c.next();
    expect(ack.command).toBe(1046);
    expect(ack.json).toEqual({ code: 30006, data: { messageId: "m2" }, msg: "好友已被拉黑", ok: false });
    c.close();
  });

  it("2104 → SendGroupMessage answered by 2047; 1050 → RecallMessage answered by 1051", async () => {
    const { c } = await user("ws");
    c.send({ command: 2104, body: { groupId: "g1", messageId: "gm1", messageBody: "hey" } });
    const ack = await c.next();
    expect(ack.command).toBe(2047);
    expect(ack.json).toMatchObject({
      command: 2047,
      data: { code: 200, ok: true, data: { messageId: "gm1" } },
    });
    c.send({ command: 1050, body: { messageKey: 5, toId: "peer", conversationType: 0 } });
    const recall = await c.next();
    expect(recall.command).toBe(1051);
    expect(recall.json).toMatchObject({ data: { code: 200, data: { messageKey: 5 }, ok: true } });
    c.close();
  });

  it("1106 / 2106 → MarkRead with the conversation type of the command, no answer", async () => {
    const { c, userId } = await user();
    c.send({ command: 1106, body: { toId: "peer", messageSequence: 3, conversationType: 1 } });
    c.send({ command: 2106, body: { groupId: "g1", toId: "sender", messageSequence: 4 } });
    c.send({ command: 5000, body: {} }); // answered 9006: proves nothing came before it
    expect((await c.next()).command).toBe(9006);
    const reads = domain.of("markRead").map((call) => call.request);
    expect(reads).toMatchObject([
      { content: { conversationType: 0, fromId: userId, toId: "peer", messageSequence: 3 } },
      { content: { conversationType: 1, fromId: userId, groupId: "g1", messageSequence: 4 } },
    ]);
    c.close();
  });

  it("1107 is relayed by the gateway itself when kv vouches for it, without the receiver's device id", async () => {
    const sender = await user("ws");
    const { c, userId } = await user();
    await receiptRecords(sender.userId, userId, { messageKey: 8, messageSequence: 2 }, true);
    c.send({
      command: 1107,
      body: { toId: sender.userId, fromId: userId, messageKey: 8, messageSequence: 2 },
    });
    const ack = await sender.c.next();
    expect(ack.command).toBe(1107);
    expect(ack.json).toMatchObject({
      data: { fromId: userId, toId: sender.userId, messageKey: 8, messageSequence: 2, serverSend: false },
    });
    // Issue 13: the push never names the acknowledging device.
    const data = (ack.json as { data: Record<string, unknown> }).data;
    expect(data).not.toHaveProperty("imei");
    expect(data).not.toHaveProperty("clientType");
    c.send({ command: 1107, body: { messageKey: 9 } }); // no to_id: refused like the domain would
    expect((await c.next()).json).toMatchObject({ code: 90001, data: { command: 1107 }, ok: false });
    expect(domain.of("receiveAck")).toEqual([]);
    sender.c.close();
    c.close();
  });

  it("1107 for another message, another sender or across a block is dropped without an answer", async () => {
    const sender = await user("ws");
    const blocked = await user("ws");
    const { c, userId } = await user();
    await receiptRecords(sender.userId, userId, { messageKey: 20, messageSequence: 5 }, true);
    await receiptRecords(blocked.userId, userId, { messageKey: 30, messageSequence: 1 }, false);
    const ack = (toId: string, messageKey: number, messageSequence: number) =>
      c.send({ command: 1107, body: { toId, messageKey, messageSequence } });
    ack(sender.userId, 21, 5); // sequence 5 of the pair is message 20: not this key
    ack(blocked.userId, 30, 1); // the pair's verdict says no
    ack(sender.userId, 0, 5); // no key at all
    ack(sender.userId, 20, 5); // the only one relayed
    const frame = await sender.c.next();
    expect(frame.json).toMatchObject({ data: { messageKey: 20, fromId: userId } });
    c.send({ command: 5000, body: {} }); // answered 9006: proves no error frame came before it
    expect((await c.next()).json).toMatchObject({ code: 90001, data: { command: 5000 } });
    expect(domain.of("receiveAck")).toEqual([]);
    sender.c.close();
    blocked.c.close();
    c.close();
  });

  it("1107 kv cannot vouch for (no index entry, or a verdict under old tokens) goes to ChatService.ReceiveAck", async () => {
    const sender = await user("ws");
    const { c, userId } = await user();
    c.send({ command: 1107, body: { toId: sender.userId, messageKey: 40, messageSequence: 3 } });
    await eventually(() => domain.of("receiveAck").length === 1);
    await receiptRecords(sender.userId, userId, { messageKey: 41, messageSequence: 4 }, true);
    const kv = await infra.kv();
    await kv.set(userChangeTokenKey(APP_ID, sender.userId), "bumped"); // e.g. a block since
    c.send({ command: 1107, body: { toId: sender.userId, messageKey: 41, messageSequence: 4 } });
    await eventually(() => domain.of("receiveAck").length === 2);
    expect(domain.of("receiveAck").map((call) => call.request)).toMatchObject([
      { session: { userId, imei: "phone" }, content: { toId: sender.userId, messageKey: 40 } },
      { session: { userId }, content: { toId: sender.userId, messageKey: 41, messageSequence: 4 } },
    ]);
    sender.c.close();
    c.close();
  });

  it("a failed call without an ACK command answers 9006 with the code", async () => {
    const { c } = await user();
    domain.behaviour = { refuse: "MEMBER_IS_NOT_JOINED_GROUP" };
    c.send({ command: 2106, body: { groupId: "g1", messageSequence: 1 } });
    const frame = await c.next();
    expect(frame.command).toBe(9006);
    expect(frame.json).toMatchObject({ code: 40006, data: { command: 2106 }, ok: false });
    c.close();
  });

  it("a slow domain yields 1046 with 71000 after the deadline and the device stays logged in (D22)", async () => {
    const { c, userId } = await user();
    domain.behaviour = { delayMs: TIMEOUT_MS * 4 };
    const started = Date.now();
    c.send({ command: 1103, body: { toId: "peer", messageId: "slow" } });
    const ack = await c.next();
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
    expect(ack.json).toMatchObject({ code: 71000, data: { messageId: "slow" }, ok: false });
    domain.behaviour = {};
    c.send({ command: 1103, body: { toId: "peer", messageId: "next" } });
    expect((await c.next()).json).toMatchObject({ code: 200, data: { messageId: "next" } });
    const record = JSON.parse((await (await infra.kv()).hget(sessionKey(APP_ID, userId), "3:phone")) ?? "{}");
    expect(record.connectState).toBe(1);
    c.close();
  });

  it("tells the domain when a session ends: LOGOUT, then a disconnect", async () => {
    const a = await user();
    a.c.send({ command: 9003 });
    await a.c.waitClosed();
    const b = await user();
    b.c.close();
    const mine = () =>
      domain.sessionsClosed.filter((r) => [a.userId, b.userId].includes(r.session?.userId ?? ""));
    await eventually(() => mine().length === 2);
    expect(mine()).toMatchObject([
      { session: { userId: a.userId }, reason: SessionCloseReason.SESSION_CLOSE_REASON_LOGOUT },
      { session: { userId: b.userId }, reason: SessionCloseReason.SESSION_CLOSE_REASON_DISCONNECT },
    ]);
    // LOGOUT deletes the device's field; a disconnect keeps it, offline (spec §4.4).
    const kv = await infra.kv();
    expect(await kv.hget(sessionKey(APP_ID, a.userId), "3:phone")).toBeNull();
    await eventually(
      async () =>
        JSON.parse((await kv.hget(sessionKey(APP_ID, b.userId), "3:phone")) ?? "{}").connectState === 2,
    );
  });
});

describe("a domain that is down", () => {
  it("yields 1046 with 71000, keeps the connection, and warns once for many failures", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: "debug" },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const downInfra = memoryInfra();
    const down = await startTestGateway({
      nodeId: "gw-down",
      logger,
      infra: await downInfra.instance(),
      overrides: { discovery: { domain: "127.0.0.1:1" }, gateway: { forwardTimeoutMs: TIMEOUT_MS } },
    });
    try {
      const c = await RawClient.tcp(down.tcpPort);
      await login(c, "lonely");
      c.send({ command: 1103, body: { toId: "peer", messageId: "m-down" } });
      const ack = await c.next();
      expect(ack.command).toBe(1046);
      expect(ack.json).toMatchObject({ code: 71000, data: { messageId: "m-down" }, ok: false });
      c.send({ command: 2104, body: { groupId: "g", messageId: "g-down" } });
      expect((await c.next()).json).toMatchObject({ code: 71000, data: { messageId: "g-down" } });
      expect(c.closed).toBe(false);
      // The outage shows at warning level, once per 10 s however many sends it refused.
      const failing = lines.filter((l) => l.msg === "forwarded calls failing on the server side");
      expect(failing.filter((l) => l.level === 40)).toEqual([
        expect.objectContaining({
          reason: "71000",
          refused: 1,
          remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        }),
      ]);
      expect(failing).toHaveLength(2); // the second at debug
      c.close();
    } finally {
      await down.stop();
      await downInfra.close();
    }
  });
});
