import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { expect } from "vitest";
import type { PrismaClient } from "../../gen/prisma/client.js";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../../lib/adapters/postgres/migration-target.js";
import { RedisKvStore } from "../../lib/adapters/redis/kv-store.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { AppAuthenticator, InternalAuthenticator } from "../../lib/grpc/auth.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { startGrpcServer } from "../../lib/grpc/server.js";
import { applyMigrations, readMigrations } from "../../lib/migrate/runner.js";
import type { Bus, BusConsumer } from "../../lib/ports/bus.js";
import type { KvStore } from "../../lib/ports/kv.js";
import { DELIVERY_QUEUE_OPTIONS, Pusher } from "../../lib/push/pusher.js";
import { encodeSession, sessionField, sessionKey } from "../../lib/sessions/session-record.js";
import { createTestDatabase } from "../../lib/testing/postgres.js";
import { createTestKeyPrefix } from "../../lib/testing/redis.js";
import { ChangeTokens } from "../../services/domain/cache/change-tokens.js";
import { Callbacks } from "../../services/domain/callbacks/callbacks.js";
import type { CallbacksConfig } from "../../services/domain/callbacks/events.js";
import type { DomainEnv } from "../../services/domain/core/env.js";
import { domainServices } from "../../services/domain/services.js";
import { type Caller, callerOf } from "../support/grpc-caller.js";

/**
 * A running domain for service tests: a fresh PostgreSQL database with the
 * migrations applied, Redis under a unique key prefix, an in-memory bus
 * whose delivery queue a fake gateway drains into one list of pushes, and
 * the domain gRPC server on a free port. Calls go over real gRPC with signed
 * metadata, so authentication runs on every one of them.
 */

/** The app every harness call uses. */
export const APP_ID = 10001;
/** The app's userSign key in the harness. */
export const PRIVATE_KEY = "domain-test-key";
/** Configured admin (config adminIds); a user_type 100 admin is made per test with `users`. */
export const CONFIG_ADMIN = "root";
const NODE = "node-test";

/** A running domain and the handles tests drive it with. */
export interface DomainHarness {
  db: PrismaClient;
  env: DomainEnv;
  address: string;
  /** A client of `definition` acting as `userId` (userSign of that user in metadata, then `metadata`). */
  as<D extends object>(definition: D, userId: string, metadata?: Record<string, string>): Caller<D>;
  /** A client of `definition` sending exactly `metadata`. */
  client<D extends object>(definition: D, metadata: Record<string, string>): Caller<D>;
  /** Unique id for this test run: `name` plus a random suffix. */
  id(name: string): string;
  /** Creates live users (user_type 100 for ids given in `admins`). */
  users(
    ids: string[],
    opts?: { admins?: string[]; friendAllowType?: number; disableAddFriend?: number },
  ): Promise<void>;
  /** Marks a device online on the fake gateway node. */
  online(userId: string, clientType: number, imei: string): Promise<void>;
  /** Waits for pushes in flight, then returns and clears everything devices received. */
  pushes(): Promise<Array<{ userId: string; imei: string; command: number; data: Record<string, unknown> }>>;
  close(): Promise<void>;
}

/**
 * Starts a harness; `callbacks` overrides the callback settings (no URL by
 * default). `shared` hands in a kv and bus to share with other roles (a real
 * gateway); the caller then owns and closes them.
 */
export async function startDomainHarness(
  callbacks: Partial<CallbacksConfig> = {},
  shared: { kv?: KvStore; bus?: Bus } = {},
): Promise<DomainHarness> {
  const database = await createTestDatabase();
  const target = await openPostgresMigrationTarget(database.url);
  try {
    await applyMigrations(target, await readMigrations());
  } finally {
    await target.close();
  }
  const handle = await openPostgresDatabase({ url: database.url, poolSize: 4 });
  const db = handle.db;
  const redis = createTestKeyPrefix();
  const kv = shared.kv ?? (await RedisKvStore.connect({ url: redis.url, keyPrefix: redis.prefix }));
  const bus = shared.bus ?? new MemoryBus();
  const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });
  const cb = new Callbacks(
    {
      url: undefined,
      timeoutMs: 1000,
      beforeFailure: "open",
      afterMaxAttempts: 1,
      afterRetryDelayMs: 0,
      afterMaxPending: 100,
      modifyUserAfterCallback: false,
      addFriendBeforeCallback: false,
      addFriendAfterCallback: false,
      modifyFriendBeforeCallback: false,
      modifyFriendAfterCallback: false,
      deleteFriendAfterCallback: false,
      addFriendShipBlackAfterCallback: false,
      deleteFriendShipBlackAfterCallback: false,
      createGroupAfterCallback: false,
      modifyGroupAfterCallback: false,
      destroyGroupAfterCallback: false,
      transferGroupAfterCallback: false,
      addGroupMemberBeforeCallback: false,
      addGroupMemberAfterCallback: false,
      deleteGroupMemberAfterCallback: false,
      sendMessageBeforeCallback: false,
      sendMessageAfterCallback: false,
      ...callbacks,
    },
    logger,
  );
  const env: DomainEnv = {
    db: async () => db,
    kv,
    pusher: new Pusher({ kv, bus, logger, sessionTtlMs: 60_000 }),
    changes: new ChangeTokens(kv),
    callbacks: cb,
    settings: { deleteConversationSyncMode: 1 },
    now: Date.now,
  };
  const appAuth = new AppAuthenticator({
    apps: { [String(APP_ID)]: { privateKey: PRIVATE_KEY, adminIds: [CONFIG_ADMIN] } },
    kv,
    userType: async (appId, userId) =>
      (await db.userData.findFirst({ where: { appId, userId, delFlag: 0 } }))?.userType ?? null,
  });
  const server = await startGrpcServer({
    role: "domain",
    host: "127.0.0.1",
    port: 0,
    services: domainServices({
      env,
      appAuth,
      internalAuth: new InternalAuthenticator("x".repeat(32)),
      logger,
    }),
    logger,
  });

  // The fake gateway: drains its delivery queue into a list.
  const received: Array<{ userId: string; imei: string; command: number; data: Record<string, unknown> }> =
    [];
  await bus.declareQueue(`deliver.${NODE}`, DELIVERY_QUEUE_OPTIONS);
  const consumer: BusConsumer = await bus.consume(`deliver.${NODE}`, async (msg) => {
    const batch = DeliveryBatch.decode(msg.body);
    for (const d of batch.deliveries as Delivery[]) {
      // The data is the batch payload the delivery names (delivery.proto payload_index), else its own.
      const dataJson = d.payloadIndex === undefined ? d.dataJson : batch.payloads[d.payloadIndex];
      if (dataJson === undefined) throw new Error(`payload_index ${d.payloadIndex} out of range`);
      received.push({
        userId: d.userId,
        imei: d.imei,
        command: d.command,
        data: JSON.parse(Buffer.from(dataJson).toString("utf8")) as Record<string, unknown>,
      });
    }
  });
  const clients: grpc.Client[] = [];
  const suffix = randomBytes(3).toString("hex");

  const harness: DomainHarness = {
    db,
    env,
    address: server.address,
    id: (name) => `${name}-${suffix}`,
    as<D extends object>(definition: D, userId: string, extra: Record<string, string> = {}): Caller<D> {
      const usersign = generateUserSign({
        appId: APP_ID,
        identifier: userId,
        privateKey: PRIVATE_KEY,
        expireSeconds: 3600,
      });
      return harness.client(definition, { appid: String(APP_ID), identifier: userId, usersign, ...extra });
    },
    client<D extends object>(definition: D, values: Record<string, string>): Caller<D> {
      const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
      clients.push(client);
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(values)) metadata.set(k, v);
      return callerOf(client, definition, metadata);
    },
    async users(ids, opts = {}) {
      await db.userData.createMany({
        data: ids.map((userId) => ({
          appId: APP_ID,
          userId,
          nickName: userId,
          userType: opts.admins?.includes(userId) ? 100 : 1,
          friendAllowType: opts.friendAllowType ?? 1,
          disableAddFriend: opts.disableAddFriend ?? 0,
        })),
      });
    },
    async online(userId, clientType, imei) {
      const now = Date.now();
      await kv.hset(sessionKey(APP_ID, userId), {
        [sessionField(clientType, imei)]: encodeSession({
          appId: APP_ID,
          userId,
          clientType,
          imei,
          nodeId: NODE,
          connectionId: `${userId}-${imei}`,
          connectState: 1,
          messageType: 0,
          loginAtMs: now,
          lastSeenMs: now,
        }),
      });
    },
    async pushes() {
      await new Promise((r) => setTimeout(r, 30));
      return received.splice(0, received.length);
    },
    async close() {
      for (const c of clients) c.close();
      await server.stop(0);
      await cb.drain();
      await consumer.stop();
      if (shared.bus === undefined) await bus.close();
      if (shared.kv === undefined) {
        await kv.close();
        await redis.cleanup();
      }
      await handle.close();
      await database.drop();
    },
  };
  return harness;
}

/** Asserts that `promise` fails with ErrorCode `code` (trailer) and, when given, gRPC `status`. */
export async function expectCode(
  promise: Promise<unknown>,
  code: number,
  status?: grpc.status,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as grpc.ServiceError,
  );
  expect(error, `expected failure ${code}`).toBeDefined();
  expect(errorCodeOf(error as grpc.ServiceError)).toBe(code);
  if (status !== undefined) expect((error as grpc.ServiceError).code).toBe(status);
}
