import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHandle, startGateway } from "../../gateway/start.js";
import { ConversationType } from "../../gen/ts/whaleshark/v1/enums.js";
import { MessageServiceClient, RecallMessageRequest } from "../../gen/ts/whaleshark/v1/message_service.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { type Config, loadConfig } from "../../lib/config/index.js";
import { AUTH_METADATA } from "../../lib/grpc/auth.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { testDiscoveryDeps } from "../../lib/testing/role-deps.js";
import {
  type ChatMessage,
  type ClientOptions,
  type TransportFactory,
  WhaleSharkClient,
} from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { startDomain } from "../../services/domain/start.js";
import { startStore } from "../../services/store/start.js";
import { APP_ID, APP_KEY } from "../support/harness/app.js";
import { eventually } from "../support/harness/eventually.js";

/**
 * Issue 6 item 8 and issue 3 item 9: a device that was offline, or that reconnects to another
 * gateway, catches up over its connection (SYNC_MESSAGES 9007 → the store's HistoryService) with
 * every message it missed, each once and in sequence order per conversation. The three roles run
 * in this process on the embedded kv and bus and a PostgreSQL database, two gateway instances.
 */

const APP = APP_ID;
const KEY = APP_KEY;
const SECRET = "reconnect-sync-internal-secret-0123";
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank"];

const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });
const kv = new MemoryKvStore();
const bus = new MemoryBus();
let database: MigratedTestDatabase;
let store: RoleHandle;
let storePort: number;
let domain: RoleHandle;
const gateways: GatewayHandle[] = [];
const clients: WhaleSharkClient[] = [];

function configFor(nodeId: string, storePortOverride = 0): Config {
  return loadConfig({
    cwd: mkdtempSync(join(tmpdir(), "ws-resync-")),
    env: {},
    overrides: {
      nodeId,
      apps: { [String(APP)]: { privateKey: KEY } },
      domain: { host: "127.0.0.1", port: 0, internalSecret: SECRET },
      store: { host: "127.0.0.1", port: storePortOverride, batchWaitMs: 5 },
      gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0, forwardTimeoutMs: 1000 },
      metrics: { enabled: false },
      shutdown: { graceMs: 500 },
    },
  });
}

function deps(targets: { domain?: string; store?: string } = {}): RoleDeps {
  return { logger, kv, bus, db: async () => database.db, ...testDiscoveryDeps(targets) };
}

const sign = (userId: string) =>
  generateUserSign({ appId: APP, identifier: userId, privateKey: KEY, expireSeconds: 600 });

/** An SDK device of `userId`; `port()` picks the gateway of each (re)connect; the frames it sends are recorded. */
function device(userId: string, port: () => number, options: Partial<ClientOptions> = {}) {
  const sent: number[] = [];
  const state = { offline: false, current: undefined as { close(): void } | undefined };
  const transport: TransportFactory = async (sink) => {
    if (state.offline) throw new Error("network down");
    const t = await tcpTransport({ host: "127.0.0.1", port: port() })(sink);
    state.current = t;
    return {
      ...t,
      kind: t.kind,
      send: (frame) => {
        sent.push(new DataView(frame.buffer, frame.byteOffset).getInt32(0));
        return t.send(frame);
      },
    };
  };
  const client = new WhaleSharkClient({
    transport,
    appId: APP,
    userId,
    clientType: 3,
    imei: `${userId}-phone`,
    userSign: () => sign(userId),
    reconnect: false,
    ...options,
  });
  clients.push(client);
  const messages: ChatMessage[] = [];
  client.on("message", (m) => messages.push(m));
  const synced: Array<{ cursor: number; messages: number }> = [];
  client.on("synced", (e) => synced.push(e));
  return {
    client,
    messages,
    synced,
    sent,
    /** The network fails: the connection drops and reconnect attempts fail until {@link online}. */
    offline() {
      state.offline = true;
      state.current?.close();
    },
    online() {
      state.offline = false;
    },
  };
}

/** The conversation of a received message as its receiver sees it. */
function conversation(me: string, m: ChatMessage): string {
  if (m.kind === "group") return `group:${m.message.groupId}`;
  return `p2p:${m.message.fromId === me ? m.message.toId : m.message.fromId}`;
}

/** Asserts each conversation's sequences came strictly increasing; returns them by conversation. */
function inOrder(me: string, messages: ChatMessage[]): Map<string, number[]> {
  const byConversation = new Map<string, number[]>();
  for (const m of messages) {
    const c = conversation(me, m);
    byConversation.set(c, [...(byConversation.get(c) ?? []), m.message.messageSequence]);
  }
  for (const [c, seqs] of byConversation) {
    expect(
      seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)),
      `${c}: ${seqs}`,
    ).toBe(true);
  }
  return byConversation;
}

beforeAll(async () => {
  database = await migratedTestDatabase();
  store = await startStore(deps(), configFor("store-1"));
  storePort = Number(store.grpcAddress.split(":").pop());
  domain = await startDomain(deps(), configFor("domain-1"));
  for (const node of ["gw-1", "gw-2"]) {
    gateways.push(
      await startGateway(deps({ domain: domain.grpcAddress, store: store.grpcAddress }), configFor(node)),
    );
  }
  const db = database.db;
  await db.userData.createMany({ data: USERS.map((userId) => ({ appId: APP, userId, nickName: userId })) });
  await db.friendship.createMany({
    data: USERS.flatMap((a) =>
      USERS.filter((b) => b !== a).map((b) => ({ appId: APP, fromId: a, toId: b, status: 1, black: 1 })),
    ),
  });
  await db.group.create({ data: { appId: APP, groupId: "crew", ownerId: "alice", status: 1 } });
  await db.groupMember.createMany({
    data: ["alice", "bob", "carol"].map((memberId, i) => ({
      appId: APP,
      groupId: "crew",
      memberId,
      role: i === 0 ? 2 : 0,
    })),
  });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const g of gateways) await g.stop();
  await domain?.stop();
  await store?.stop();
  await bus.close();
  await kv.close();
  await database?.close();
});

const port = (i: number) => () => (gateways[i] as GatewayHandle).tcpPort;

describe("catching up after a reconnect (9007 / 9008)", () => {
  it("delivers every message missed in several conversations once, in order, on another gateway, in pages", async () => {
    let gateway = 0;
    const alice = device("alice", () => (gateways[gateway] as GatewayHandle).tcpPort, {
      reconnect: { initialMs: 50, maxMs: 100, jitter: 0 },
      sync: { pageSize: 4, settleMs: 0 },
    });
    const bob = device("bob", port(1));
    const carol = device("carol", port(1));
    const dave = device("dave", port(0));
    for (const d of [alice, bob, carol, dave]) await d.client.connect();
    await eventually(() => alice.synced.length === 1);

    // Online: two messages pushed live.
    await bob.client.sendP2P({ toId: "alice", messageBody: "live 1" });
    await carol.client.sendGroup({ groupId: "crew", messageBody: "live 2" });
    await eventually(() => alice.messages.length === 2);

    alice.offline();
    await eventually(() => alice.client.state === "reconnecting");
    const missed: number[] = [];
    for (let round = 0; round < 6; round++) {
      const acks = await Promise.all([
        bob.client.sendP2P({ toId: "alice", messageBody: `bob ${round}` }),
        carol.client.sendP2P({ toId: "alice", messageBody: `carol ${round}` }),
        round < 4 ? dave.client.sendP2P({ toId: "alice", messageBody: `dave ${round}` }) : undefined,
        carol.client.sendGroup({ groupId: "crew", messageBody: `crew ${round}` }),
        round % 2 === 0
          ? bob.client.sendGroup({ groupId: "crew", messageBody: `crew bob ${round}` })
          : undefined,
      ]);
      for (const ack of acks) if (ack !== undefined) missed.push(ack.data?.messageKey as number);
    }
    expect(missed).toHaveLength(6 + 6 + 4 + 6 + 3);
    // Bob takes one back while alice is away: she gets it as recalled.
    const recalled = missed[0] as number;
    await recall("bob", recalled);
    await eventually(async () => (await database.db.messageBody.count()) >= missed.length + 2);

    const sentBefore = alice.sent.length;
    gateway = 1; // the reconnect lands on the other gateway instance
    alice.online();
    await eventually(() => alice.synced.length === 2);
    expect(gateways[1]?.connectionCount()).toBeGreaterThanOrEqual(3);

    const caughtUp = alice.messages.slice(2);
    expect(caughtUp.map((m) => m.message.messageKey).sort()).toEqual([...missed].sort());
    expect(caughtUp.every((m) => m.synced && !m.fromSelf)).toBe(true);
    const all = alice.messages.map((m) => m.message.messageKey);
    expect(new Set(all).size).toBe(all.length); // each once
    const sequences = inOrder("alice", alice.messages);
    expect(sequences.get("p2p:bob")).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(sequences.get("p2p:carol")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sequences.get("p2p:dave")).toEqual([1, 2, 3, 4]);
    expect(sequences.get("group:crew")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const gone = alice.messages.find((m) => m.message.messageKey === recalled);
    expect(gone).toMatchObject({ recalled: true, message: { messageBody: "" } });
    // 25 missed messages (plus the 2 re-read within the overlap) at 4 a page: paged.
    const pages = alice.sent.slice(sentBefore).filter((c) => c === 9007).length;
    expect(pages).toBeGreaterThanOrEqual(7);
    expect(alice.synced[1]?.messages).toBe(25);
    expect(alice.client.syncCursor).toBe(Math.max(...missed));

    // Live again: a new message is pushed, once.
    const after = await dave.client.sendP2P({ toId: "alice", messageBody: "welcome back" });
    await eventually(() => alice.messages.length === 28);
    expect(alice.messages[27]).toMatchObject({
      synced: false,
      message: { messageKey: after.data?.messageKey },
    });

    // The app restarts with the cursor it kept: only what came since, plus at most the overlap window.
    const cursor = alice.client.syncCursor;
    alice.client.close();
    const later = await bob.client.sendP2P({ toId: "alice", messageBody: "while the app was closed" });
    await eventually(async () => (await database.db.messageBody.count()) >= missed.length + 4);
    const restarted = device("alice", port(0), { initialSyncCursor: cursor, sync: { settleMs: 0 } });
    await restarted.client.connect();
    await eventually(() => restarted.synced.length === 1);
    const keys = restarted.messages.map((m) => m.message.messageKey);
    expect(keys).toContain(later.data?.messageKey);
    expect(new Set(keys).size).toBe(keys.length);
    const overlapFloor = cursor - 5 * 2 ** 21; // SYNC_DEFAULTS.overlapMs of messageKey time
    expect(keys.every((k) => k > overlapFloor)).toBe(true);
    inOrder("alice", restarted.messages);
  }, 60_000);

  it("answers 9006 / 71000 while the store is down, keeps the connection, and catches up once it is back", async () => {
    await store.stop();
    const erin = device("erin", port(0), {
      sync: { settleMs: 0, retry: { initialMs: 200, maxMs: 400, factor: 2, jitter: 0 } },
    });
    const frank = device("frank", port(1));
    const refusals: Array<{ code: number; command: unknown }> = [];
    erin.client.on("serverError", (vo) =>
      refusals.push({ code: vo.code, command: (vo.data as { command?: unknown }).command }),
    );
    let logins = 0;
    erin.client.on("connected", () => logins++);
    await erin.client.connect();
    await frank.client.connect();
    await eventually(() => refusals.length >= 1);
    expect(refusals[0]).toEqual({ code: 71000, command: 9007 });
    expect(erin.client.state).toBe("online");

    // Messaging goes on without the store (the bus keeps the jobs); pushes are not held back.
    const live = await frank.client.sendP2P({ toId: "erin", messageBody: "store is down" });
    await eventually(() => erin.messages.length === 1);
    expect(erin.messages[0]?.message.messageKey).toBe(live.data?.messageKey);

    store = await startStore(deps(), configFor("store-1", storePort));
    await eventually(() => erin.synced.length === 1);
    expect(logins).toBe(1); // the same connection all along
    expect(erin.messages).toHaveLength(1); // the catch-up found nothing new
    await eventually(async () => (await database.db.messageBody.count({ where: { toId: "erin" } })) === 1);
  }, 30_000);
});

/** MessageService.RecallMessage as the sender, signed like an app server (common.proto §2). */
async function recall(userId: string, messageKey: number): Promise<void> {
  const client = new MessageServiceClient(domain.grpcAddress, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set(AUTH_METADATA.appId, String(APP));
  metadata.set(AUTH_METADATA.identifier, userId);
  metadata.set(AUTH_METADATA.userSign, sign(userId));
  const request = RecallMessageRequest.fromPartial({
    appId: APP,
    operater: userId,
    fromId: userId,
    conversationType: ConversationType.CONVERSATION_TYPE_P2P,
    messageKey,
  });
  try {
    await new Promise((resolve, reject) =>
      client.recallMessage(request, metadata, (error, res) => (error ? reject(error) : resolve(res))),
    );
  } finally {
    client.close();
  }
}
