import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../gen/prisma/client.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../../lib/adapters/postgres/migration-target.js";
import { StaticDiscovery } from "../../lib/adapters/static/index.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { loadConfig } from "../../lib/config/index.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { applyMigrations, readMigrations } from "../../lib/migrate/runner.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { createTestDatabase, type TestDatabase } from "../../lib/testing/postgres.js";
import { startDomain } from "../../services/domain/start.js";

/**
 * The domain role as the composition root starts it (services/domain/start.ts),
 * called the way a third-party tool would: through server reflection, with no
 * generated code, and authenticated by userSign metadata.
 */

const KEY = "reflection-test-key";
let database: TestDatabase;
let db: { db: PrismaClient; close(): Promise<void> };
let deps: RoleDeps;
let domain: RoleHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = await openPostgresMigrationTarget(database.url);
  await applyMigrations(target, await readMigrations()).finally(() => target.close());
  db = await openPostgresDatabase({ url: database.url, poolSize: 2 });
  deps = {
    logger: pino({ level: "silent" }),
    kv: new MemoryKvStore(),
    bus: new MemoryBus(),
    db: async () => db.db,
    discovery: new StaticDiscovery(),
    grpcTargets: { domain: "static:///whaleshark.domain", store: "static:///whaleshark.store" },
  };
  const config = loadConfig({
    env: {},
    overrides: {
      apps: { "10001": { privateKey: KEY, adminIds: ["ops"] } },
      domain: { host: "127.0.0.1", port: 0 },
    },
  });
  domain = await startDomain(deps, config);
});

afterAll(async () => {
  await domain?.stop();
  await deps?.bus.close();
  await deps?.kv.close();
  await deps?.discovery.close();
  await db?.close();
  await database?.drop();
});

function signed(identifier: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("appid", "10001");
  metadata.set("identifier", identifier);
  metadata.set(
    "usersign",
    generateUserSign({ appId: 10001, identifier, privateKey: KEY, expireSeconds: 600 }),
  );
  return metadata;
}

type Dynamic = grpc.Client &
  Record<
    string,
    (
      req: object,
      md: grpc.Metadata,
      cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void,
    ) => void
  >;

function call(client: Dynamic, method: string, request: object, metadata: grpc.Metadata) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const fn = client[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(client, request, metadata, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

describe("the domain role", () => {
  it("serves UserService to a reflection client with no generated code", async () => {
    const reflection = new GrpcReflection(domain.grpcAddress, grpc.credentials.createInsecure());
    const services = await reflection.listServices();
    expect(services).toContain("whaleshark.v1.UserService");
    expect(services).toContain("whaleshark.v1.GroupMemberService");
    const descriptor = await reflection.getDescriptorBySymbol("whaleshark.v1.UserService");
    const pkg = descriptor.getPackageObject({
      keepCase: true,
      longs: Number,
      enums: Number,
      defaults: true,
    }) as unknown as {
      whaleshark: { v1: { UserService: new (address: string, creds: grpc.ChannelCredentials) => Dynamic } };
    };
    const client = new pkg.whaleshark.v1.UserService(domain.grpcAddress, grpc.credentials.createInsecure());
    try {
      const imported = await call(
        client,
        "ImportUsers",
        { app_id: 10001, operater: "ops", user_data: [{ user_id: "refl-1", nick_name: "Reflected" }] },
        signed("ops"),
      );
      expect(imported.success_id).toEqual(["refl-1"]);
      const info = await call(
        client,
        "GetSingleUserInfo",
        { app_id: 10001, operater: "refl-1", user_id: "refl-1" },
        signed("refl-1"),
      );
      expect((info.user_data as Record<string, unknown>).nick_name).toBe("Reflected");
      const refused = await call(
        client,
        "GetSingleUserInfo",
        { user_id: "refl-1" },
        new grpc.Metadata(),
      ).catch((e: grpc.ServiceError) => e);
      expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      expect(errorCodeOf(refused as grpc.ServiceError)).toBe(60001);
    } finally {
      client.close();
    }
  });

  it("refuses to start in the distributed profile without domain.internalSecret", async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        profile: "distributed",
        nodeId: "d1",
        apps: { "10001": { privateKey: KEY } },
        database: { url: "postgresql://x@127.0.0.1:1/x" },
        redis: { url: "redis://127.0.0.1:1" },
        amqp: { url: "amqp://127.0.0.1:1" },
        domain: { host: "127.0.0.1", port: 0 },
      },
    });
    await expect(startDomain(deps, config)).rejects.toThrow(/internalSecret/);
  });
});
