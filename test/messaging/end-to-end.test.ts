import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHandle, startGateway } from "../../gateway/start.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { type Config, loadConfig } from "../../lib/config/index.js";
import { AppAuthenticator, InternalAuthenticator } from "../../lib/grpc/auth.js";
import { type RunningGrpcServer, startGrpcServer } from "../../lib/grpc/server.js";
import { Pusher } from "../../lib/push/pusher.js";
import type { RoleHandle } from "../../lib/role/role.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { testDiscoveryDeps } from "../../lib/testing/role-deps.js";
import { type ClientEvents, WhaleSharkClient } from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { ChangeTokens } from "../../services/domain/cache/change-tokens.js";
import { Callbacks } from "../../services/domain/callbacks/callbacks.js";
import type { DomainEnv } from "../../services/domain/core/env.js";
import { createMessaging, type Messaging } from "../../services/domain/messaging/messaging.js";
import { domainServices } from "../../services/domain/services.js";
import { startStore } from "../../services/store/start.js";
import { APP_ID, APP_KEY } from "../support/harness/app.js";
import { eventually } from "../support/harness/eventually.js";

/**
 * A whole chat through the real pieces in one process: SDK clients over TCP,
 * a gateway (startGateway), the domain's gRPC services with the messaging
 * core, and the store (startStore) writing PostgreSQL, on the memory kv and
 * bus of the embedded profile. Two users, the sender with a second device.
 */

const APP = APP_ID;
const KEY = APP_KEY;
const SECRET = "end-to-end-internal-secret-0123456789";

/** Collects one event type of a client. */
function collect<E extends keyof ClientEvents>(client: WhaleSharkClient, event: E): ClientEvents[E][] {
  const seen: ClientEvents[E][] = [];
  client.on(event, (e) => seen.push(e));
  return seen;
}

describe("end to end: SDK ↔ gateway ↔ domain ↔ store", () => {
  let database: MigratedTestDatabase;
  let config: Config;
  let store: RoleHandle;
  let domain: RunningGrpcServer;
  let messaging: Messaging;
  let gateway: GatewayHandle;
  const kv = new MemoryKvStore();
  const bus = new MemoryBus();
  const clients: WhaleSharkClient[] = [];
  const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });

  /** A device of `userId`: Android (3) unless another ClientType is given (web 1 is never kicked, spec §4.3). */
  const client = (userId: string, imei: string, clientType = 3) => {
    const c = new WhaleSharkClient({
      transport: tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort }),
      appId: APP,
      userId,
      clientType,
      imei,
      userSign: () =>
        generateUserSign({ appId: APP, identifier: userId, privateKey: KEY, expireSeconds: 600 }),
      reconnect: false,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    database = await migratedTestDatabase();
    config = loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-e2e-")),
      env: {},
      overrides: {
        nodeId: "e2e-node",
        apps: { [String(APP)]: { privateKey: KEY } },
        domain: { host: "127.0.0.1", port: 0, internalSecret: SECRET },
        store: { host: "127.0.0.1", port: 0, batchWaitMs: 5 },
        gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0 },
        metrics: { enabled: false },
        shutdown: { graceMs: 1000 },
      },
    });
    const db = async () => database.db;
    store = await startStore({ logger, kv, bus, db, ...testDiscoveryDeps() }, config);

    const env: DomainEnv = {
      db,
      kv,
      pusher: new Pusher({ kv, bus, logger, sessionTtlMs: config.gateway.heartbeatTimeoutMs * 2 }),
      changes: new ChangeTokens(kv),
      callbacks: new Callbacks(config.callbacks, logger),
      settings: { deleteConversationSyncMode: 1 },
      now: Date.now,
    };
    messaging = createMessaging({ env, bus, logger, config });
    domain = await startGrpcServer({
      role: "domain",
      host: "127.0.0.1",
      port: 0,
      services: domainServices({
        env,
        appAuth: new AppAuthenticator({ apps: config.apps, kv, userType: async () => 1 }),
        internalAuth: new InternalAuthenticator(SECRET),
        logger,
        messaging,
      }),
      logger,
    });
    gateway = await startGateway(
      { logger, kv, bus, db, ...testDiscoveryDeps({ domain: domain.address }) },
      config,
    );

    await database.db.userData.createMany({
      data: ["alice", "bob"].map((userId) => ({ appId: APP, userId, nickName: userId })),
    });
    await database.db.friendship.createMany({
      data: [
        { appId: APP, fromId: "alice", toId: "bob", status: 1, black: 1 },
        { appId: APP, fromId: "bob", toId: "alice", status: 1, black: 1 },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.stop();
    await domain?.stop(0);
    await messaging?.close();
    await store?.stop();
    await bus.close();
    await kv.close();
    await database?.close();
  });

  it("exchanges P2P messages with ACKs, sync copies, delivery ACKs and read receipts, storing each once", async () => {
    const alicePhone = client("alice", "alice-phone");
    const aliceWeb = client("alice", "alice-web", 1);
    const bobPhone = client("bob", "bob-phone");
    for (const c of [alicePhone, aliceWeb, bobPhone]) await c.connect();
    const bobGot = collect(bobPhone, "message");
    const webGot = collect(aliceWeb, "message");
    const phoneReceipts = collect(alicePhone, "receipt");
    const aliceGot = collect(alicePhone, "message");

    const ack = await alicePhone.sendP2P({ toId: "bob", messageBody: "hello bob" });
    expect(ack).toMatchObject({ code: 200, ok: true });
    expect(ack.data?.messageSequence).toBe(1);
    const key = ack.data?.messageKey as number;
    expect(key).toBeGreaterThan(0);

    await eventually(() => bobGot.length === 1 && webGot.length === 1);
    expect(bobGot[0]).toMatchObject({ kind: "p2p", fromSelf: false });
    expect(bobGot[0]?.message).toMatchObject({ fromId: "alice", messageBody: "hello bob", messageKey: key });
    expect(webGot[0]).toMatchObject({ kind: "p2p", fromSelf: true }); // the sync copy
    // Bob's SDK acknowledged the delivery (1107), relayed to the sender's devices.
    await eventually(() => phoneReceipts.some((r) => r.command === 1107));
    expect(phoneReceipts.find((r) => r.command === 1107)?.data).toMatchObject({
      fromId: "bob",
      toId: "alice",
      messageKey: key,
      serverSend: false,
    });

    expect(bobPhone.markRead({ toId: "alice", messageSequence: 1 })).toBe(true);
    await eventually(() => phoneReceipts.some((r) => r.command === 1054));
    expect(phoneReceipts.find((r) => r.command === 1054)?.data).toMatchObject({
      fromId: "bob",
      messageSequence: 1,
    });

    const reply = await bobPhone.sendP2P({ toId: "alice", messageBody: "hi alice", messageId: "bob-1" });
    expect(reply.data?.messageSequence).toBe(2); // one counter per pair, both directions
    await eventually(() => aliceGot.length === 1);
    expect(aliceGot[0]?.message.messageKey).toBe(reply.data?.messageKey);

    await eventually(async () => (await database.db.messageBody.count()) === 2);
    const stored = await database.db.messageBody.findUniqueOrThrow({ where: { messageKey: BigInt(key) } });
    expect(stored).toMatchObject({
      fromId: "alice",
      toId: "bob",
      messageBody: "hello bob",
      messageSequence: 1n,
    });
    expect(await database.db.messageHistory.count()).toBe(4);
  }, 30_000);

  it("answers a message to an offline user with the server's 1107 and keeps it for sync", async () => {
    for (const c of clients) c.close();
    const alicePhone = client("alice", "alice-phone-2");
    await alicePhone.connect();
    const receipts = collect(alicePhone, "receipt");
    const ack = await alicePhone.sendP2P({ toId: "bob", messageBody: "are you there?" });
    await eventually(() => receipts.some((r) => r.command === 1107));
    expect(receipts[0]?.data).toMatchObject({
      serverSend: true,
      toId: "bob",
      messageKey: ack.data?.messageKey,
    });
    await eventually(async () => (await database.db.messageBody.count()) === 3);
  }, 30_000);
});
