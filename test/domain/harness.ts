import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { expect } from "vitest";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import type { Bus } from "../../lib/ports/bus.js";
import type { Database } from "../../lib/ports/db.js";
import type { KvStore } from "../../lib/ports/kv.js";
import type { CallbacksConfig } from "../../services/domain/callbacks/events.js";
import type { DomainEnv } from "../../services/domain/core/env.js";
import { type Caller, callerOf } from "../support/grpc-caller.js";
import { ADMIN, APP_ID, harness, userSign } from "../support/harness/index.js";

/**
 * A running domain for service tests, a preset of the one harness (test/support/harness): the
 * domain's gRPC services on a fresh migrated PostgreSQL database, Redis under a unique key prefix
 * and an in-memory bus, whose fake gateway node `node-test` drains into one list of pushes. Calls
 * go over real gRPC with signed metadata, so authentication runs on every one of them.
 */

/** The test app's userSign key. */
export { APP_KEY as PRIVATE_KEY } from "../support/harness/index.js";
export { APP_ID };
/** Configured admin (config adminIds); a user_type 100 admin is made per test with `users`. */
export const CONFIG_ADMIN = ADMIN;
const NODE = "node-test";

/** A running domain and the handles tests drive it with. */
export interface DomainHarness {
  db: Database;
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
 * Starts a harness; `callbacks` overrides the callback settings (the schema's defaults, no URL).
 * `shared` hands in a kv and bus to share with other roles (a real gateway); the caller then owns
 * and closes them.
 */
export async function startDomainHarness(
  callbacks: Partial<CallbacksConfig> = {},
  shared: { kv?: KvStore; bus?: Bus } = {},
): Promise<DomainHarness> {
  const h = await harness({
    on: { kv: "redis", bus: "memory", db: "postgres" },
    kv: shared.kv,
    bus: shared.bus,
    poolSize: 4,
    overrides: { callbacks },
  })
    .domainServices()
    .start();
  const address = h.services?.address ?? "";
  await h.fake.watch(NODE);
  const clients: grpc.Client[] = [];
  const suffix = randomBytes(3).toString("hex");

  const domain: DomainHarness = {
    db: h.database.db,
    env: h.env,
    address,
    id: (name) => `${name}-${suffix}`,
    as<D extends object>(definition: D, userId: string, extra: Record<string, string> = {}): Caller<D> {
      return domain.client(definition, {
        appid: String(APP_ID),
        identifier: userId,
        usersign: userSign(userId),
        ...extra,
      });
    },
    client<D extends object>(definition: D, values: Record<string, string>): Caller<D> {
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      clients.push(client);
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(values)) metadata.set(k, v);
      return callerOf(client, definition, metadata);
    },
    async users(ids, opts = {}) {
      await h.database.db.userData.createMany({
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
    online: (userId, clientType, imei) => h.fake.online(userId, clientType, imei, NODE),
    async pushes() {
      await new Promise((r) => setTimeout(r, 30));
      return h.fake.received
        .splice(0)
        .map(({ userId, imei, command, data }) => ({ userId, imei, command, data }));
    },
    async close() {
      for (const c of clients) c.close();
      await h.close();
    },
  };
  return domain;
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
