import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type {
  SyncDeviceMessagesRequest,
  SyncDeviceMessagesResponse,
  SyncGroupMessagesRequest,
  SyncP2PMessagesRequest,
} from "../../gen/ts/whaleshark/v1/history_service.js";
import type { HistoryMessage } from "../../gen/ts/whaleshark/v1/model.js";
import { SyncMessagesAckPack } from "../../gen/ts/whaleshark/v1/sync.js";
import { CODE_TRAILER } from "../../lib/grpc/errors.js";
import { type Infra, login, memoryInfra, startTestGateway } from "../../test/gateway/support/harness.js";
import { RawClient } from "../../test/gateway/support/raw-client.js";
import type { GatewayHandle } from "../start.js";
import type { HistoryCalls } from "./history-client.js";
import { SYNC_ACK_BUDGET_BYTES } from "./sync.js";

type Request = SyncDeviceMessagesRequest | SyncP2PMessagesRequest | SyncGroupMessagesRequest;

/** A store double: records every call and answers with `answer` (or throws what it throws). */
class FakeHistory implements HistoryCalls {
  readonly calls: Array<{ method: string; req: Request }> = [];
  answer: (method: string, req: Request) => Promise<SyncDeviceMessagesResponse> = async () => ({
    maxSequence: 0,
    completed: true,
    dataList: [],
  });

  #run(method: string, req: Request) {
    this.calls.push({ method, req });
    return this.answer(method, req);
  }
  syncDeviceMessages(req: SyncDeviceMessagesRequest) {
    return this.#run("device", req);
  }
  syncP2PMessages(req: SyncP2PMessagesRequest) {
    return this.#run("p2p", req);
  }
  syncGroupMessages(req: SyncGroupMessagesRequest) {
    return this.#run("group", req);
  }
  close(): void {}
}

function stored(key: number, body = `text ${key}`, group = false): HistoryMessage {
  return {
    appId: 10001,
    conversationType: group ? 1 : 0,
    messageKey: key,
    messageId: `m-${key}`,
    fromId: "bob",
    toId: group ? "" : "carol",
    groupId: group ? "g1" : "",
    messageSequence: key % 1000,
    messageBody: body,
    messageTime: 1_700_000_000_000,
    extra: "",
    recalled: false,
  };
}

/** A gRPC failure as grpc-js reports it, optionally with the store's ErrorCode trailer. */
function grpcError(code: status, errorCode?: number, details = "") {
  const metadata = new Metadata();
  if (errorCode !== undefined) metadata.set(CODE_TRAILER, String(errorCode));
  return Object.assign(new Error(details), { code, details, metadata });
}

let infra: Infra;
let gateway: GatewayHandle;
const history = new FakeHistory();

beforeAll(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({ nodeId: "gw-sync", infra: await infra.instance(), history });
});
afterAll(async () => {
  await gateway.stop();
  await infra.close();
});
beforeEach(() => {
  history.calls.length = 0;
  history.answer = async () => ({ maxSequence: 0, completed: true, dataList: [] });
});

async function carol(): Promise<RawClient> {
  const c = await RawClient.connect("tcp", gateway.tcpPort);
  await login(c, "carol", { clientType: 3, imei: "phone" });
  return c;
}

describe("sync commands (9007 / 9009)", () => {
  it("9007 asks the store for the logged-in user's device page and answers 9008", async () => {
    history.answer = async () => ({
      maxSequence: 3003,
      completed: false,
      dataList: [stored(3001), stored(3002)],
    });
    const c = await carol();
    c.send({ command: 9007, clientType: 3, imei: "phone", body: { lastMessageKey: 3000, maxLimit: 2 } });
    const ack = await c.next();
    expect(ack.command).toBe(9008);
    const pack = SyncMessagesAckPack.fromJSON(ack.json);
    expect(pack).toMatchObject({ completed: false, lastMessageKey: 3000, maxMessageKey: 3003 });
    expect(pack.messages.map((m) => [m.messageKey, m.fromId, m.toId, m.messageBody])).toEqual([
      [3001, "bob", "carol", "text 3001"],
      [3002, "bob", "carol", "text 3002"],
    ]);
    expect(history.calls).toEqual([
      {
        method: "device",
        req: {
          appId: 10001,
          operater: "carol",
          clientType: 3,
          imei: "phone",
          userId: "",
          lastSequence: 3000,
          maxLimit: 2,
        },
      },
    ]);
    c.close();
  });

  it("9009 fills one conversation: P2P by peer, GROUP by group id, answered by 9010", async () => {
    history.answer = async (method) => ({
      maxSequence: 9,
      completed: true,
      dataList: [stored(method === "group" ? 4009 : 4008, "x", method === "group")],
    });
    const c = await carol();
    c.send({ command: 9009, body: { conversationType: 0, toId: "bob", lastSequence: 7, maxLimit: 0 } });
    const p2p = await c.next();
    expect(p2p.command).toBe(9010);
    expect(p2p.json).toMatchObject({
      conversationType: 0,
      toId: "bob",
      lastSequence: 7,
      maxSequence: 9,
      completed: true,
    });
    c.send({ command: 9009, body: { conversationType: 1, toId: "g1", lastSequence: 8 } });
    const group = await c.next();
    expect(group.json).toMatchObject({ conversationType: 1, toId: "g1", lastSequence: 8 });
    expect((group.json as { messages: Array<{ groupId: string }> }).messages[0]?.groupId).toBe("g1");
    expect(history.calls.map((call) => [call.method, call.req.operater])).toEqual([
      ["p2p", "carol"],
      ["group", "carol"],
    ]);
    expect(history.calls[0]?.req).toMatchObject({ toId: "bob", lastSequence: 7 });
    expect(history.calls[1]?.req).toMatchObject({ groupId: "g1", lastSequence: 8 });
    c.close();
  });

  it("cuts a page that would not fit a client frame and reports it not completed", async () => {
    const big = "é".repeat(4_000); // 8,000 bytes of UTF-8 each
    history.answer = async () => ({
      maxSequence: 5020,
      completed: true,
      dataList: Array.from({ length: 20 }, (_, i) => stored(5001 + i, big)),
    });
    const c = await carol();
    c.send({ command: 9007, body: { lastMessageKey: 5000 } });
    const ack = await c.next();
    const pack = SyncMessagesAckPack.fromJSON(ack.json);
    expect(pack.completed).toBe(false);
    expect(pack.messages.length).toBeGreaterThan(1);
    expect(pack.messages.length).toBeLessThan(20);
    expect(ack.payload.length).toBeLessThan(SYNC_ACK_BUDGET_BYTES + 1024);
    c.close();
  });

  it("answers 9006 naming the command and keeps the connection: store down 71000, store refusal, bad body", async () => {
    const c = await carol();
    history.answer = async () => {
      throw grpcError(status.UNAVAILABLE, undefined, "connect ECONNREFUSED 10.0.0.7:50051");
    };
    c.send({ command: 9007, body: { lastMessageKey: 1 } });
    const down = await c.next();
    expect(down.command).toBe(9006);
    expect(down.json).toMatchObject({ code: 71000, ok: false, data: { command: 9007 } });
    expect(down.text).not.toContain("10.0.0.7"); // no internals leak
    history.answer = async () => {
      throw grpcError(status.DEADLINE_EXCEEDED);
    };
    c.send({ command: 9009, body: { conversationType: 0, toId: "bob" } });
    expect((await c.next()).json).toMatchObject({ code: 71000, data: { command: 9009 } });
    history.answer = async () => {
      throw grpcError(status.FAILED_PRECONDITION, 40006, "该用户不在群内: g9");
    };
    c.send({ command: 9009, body: { conversationType: 1, toId: "g9" } });
    expect((await c.next()).json).toMatchObject({ code: 40006, msg: "该用户不在群内: g9" });
    for (const body of [
      { lastMessageKey: -1 },
      { lastMessageKey: "abc" },
      { conversationType: 5, toId: "x" },
      { conversationType: 0, toId: "" },
    ]) {
      c.send({ command: "toId" in body ? 9009 : 9007, body });
      expect((await c.next()).json).toMatchObject({ code: 90001 });
    }
    expect(history.calls).toHaveLength(3); // bad bodies never reach the store
    // Still logged in: the next sync is answered.
    history.answer = async () => ({ maxSequence: 0, completed: true, dataList: [] });
    c.send({ command: 9007, body: {} });
    expect((await c.next()).command).toBe(9008);
    expect(c.closed).toBe(false);
    c.close();
  });

  it("refuses sync before login with 60002", async () => {
    const c = await RawClient.connect("tcp", gateway.tcpPort);
    c.send({ command: 9007, body: { lastMessageKey: 0 } });
    expect((await c.next()).json).toMatchObject({ code: 60002, data: { command: 9007 } });
    expect(history.calls).toHaveLength(0);
    c.close();
  });
});
