import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HistoryServiceClient,
  type SyncP2PMessagesRequest,
  type SyncP2PMessagesResponse,
} from "../../gen/ts/whaleshark/v1/history_service.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { loadConfig } from "../../lib/config/index.js";
import { AUTH_METADATA } from "../../lib/grpc/auth.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { STORE_QUEUES } from "../../lib/queues/store-queues.js";
import type { RoleHandle } from "../../lib/role/role.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { testDiscoveryDeps } from "../../lib/testing/role-deps.js";
import { p2pJob } from "../../services/store/consumer/test-jobs.js";
import { startStore } from "../../services/store/start.js";
import { APP_ID, userSign } from "../support/harness/app.js";

/** Metadata of an app-server call signed as `identifier` (common.proto §2). */
function signedAs(identifier: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(AUTH_METADATA.appId, String(APP_ID));
  metadata.set(AUTH_METADATA.identifier, identifier);
  metadata.set(AUTH_METADATA.userSign, userSign(identifier, 600));
  return metadata;
}

/**
 * The store role as `whaleshark store` runs it: jobs in on the bus, history
 * out over gRPC to signed callers (with health and reflection from the
 * shared server).
 */
describe("store role", () => {
  let testDb: MigratedTestDatabase;
  let bus: MemoryBus;
  let handle: RoleHandle;
  let client: HistoryServiceClient;

  beforeAll(async () => {
    testDb = await migratedTestDatabase();
    bus = new MemoryBus();
    const config = loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-store-")),
      env: {},
      overrides: {
        store: { host: "127.0.0.1", port: 0, batchSize: 10, batchWaitMs: 5 },
        metrics: { enabled: false },
      },
    });
    handle = await startStore(
      {
        logger: pino({ level: "silent" }),
        kv: new MemoryKvStore(),
        bus,
        db: async () => testDb.db,
        ...testDiscoveryDeps(),
      },
      config,
    );
    client = new HistoryServiceClient(handle.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await handle?.stop();
    await bus?.close();
    await testDb?.close();
  });

  function sync(
    req: Partial<SyncP2PMessagesRequest>,
    metadata = signedAs(req.operater ?? "ann"),
  ): Promise<SyncP2PMessagesResponse> {
    const full = {
      appId: 10001,
      operater: "ann",
      clientType: 1,
      imei: "web",
      lastSequence: 0,
      maxLimit: 0,
      userId: "",
      toId: "ben",
      ...req,
    };
    return new Promise((resolve, reject) =>
      client.syncP2PMessages(full, metadata, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  it("stores published jobs and serves them over gRPC", async () => {
    for (let i = 1; i <= 25; i++) {
      await bus.publish(
        STORE_QUEUES.p2p,
        p2pJob({ key: 9000 + i, seq: i, from: i % 2 ? "ann" : "ben", to: i % 2 ? "ben" : "ann" }),
      );
    }
    let res: SyncP2PMessagesResponse = { maxSequence: 0, completed: true, dataList: [] };
    for (let tries = 0; tries < 200 && res.dataList.length < 25; tries++) {
      res = await sync({});
      if (res.dataList.length < 25) await new Promise((r) => setTimeout(r, 20));
    }
    expect(res.dataList.map((m) => m.messageSequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(res).toMatchObject({ maxSequence: 25, completed: true });
    const fromBen = await sync({ operater: "ben", toId: "ann", lastSequence: 23 });
    expect(fromBen.dataList.map((m) => m.messageSequence)).toEqual([24, 25]);
  });

  it("answers errors with the status and the whaleshark-code trailer", async () => {
    const err = await sync({ toId: "" }).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(err as grpc.ServiceError)).toBe(90001);
    const denied = await sync({ operater: "eve", userId: "ann" }).catch((e: grpc.ServiceError) => e);
    expect((denied as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(errorCodeOf(denied as grpc.ServiceError)).toBe(60005);
    const impostor = await sync({ operater: "ann" }, signedAs("eve")).catch((e: grpc.ServiceError) => e);
    expect((impostor as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(errorCodeOf(impostor as grpc.ServiceError)).toBe(60005);
    const anonymous = await sync({}, new grpc.Metadata()).catch((e: grpc.ServiceError) => e);
    expect((anonymous as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(errorCodeOf(anonymous as grpc.ServiceError)).toBe(60001);
  });
});
