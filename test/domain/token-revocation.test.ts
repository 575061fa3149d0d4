import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHandle, startGateway } from "../../gateway/start.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { generateUserSign, REVOCATIONS_LOADED_KEY, revocationKey } from "../../lib/auth/index.js";
import { type Config, loadConfig } from "../../lib/config/index.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../lib/testing/migrated-database.js";
import { testDiscoveryDeps } from "../../lib/testing/role-deps.js";
import { ClientError, type ClientEvents, WhaleSharkClient } from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { startDomain } from "../../services/domain/start.js";
import { callerOf } from "../support/grpc-caller.js";
import { eventually } from "../support/harness/eventually.js";

/**
 * Issue 13 item 5: userSign hygiene through the real composition roots (startDomain, startGateway)
 * on the embedded profile's memory kv and bus: tokens issued in the future are refused, and
 * UserService.RevokeTokens refuses every token of a user issued before its cut-off, at LOGIN and
 * on app gRPC calls, closes the user's live connections, and survives kv losing its data.
 */

const APP = 10001;
const KEY = "token-revocation-key";
const ADMIN = "ops";
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("userSign hygiene: clock skew and revocation", () => {
  let database: MigratedTestDatabase;
  let config: Config;
  let kv: MemoryKvStore;
  let bus: MemoryBus;
  let domain: RoleHandle;
  let gateway: GatewayHandle;
  const channels: grpc.Client[] = [];
  const clients: WhaleSharkClient[] = [];
  const logger = pino({ level: process.env.WHALESHARK_TEST_LOG ?? "silent" });

  const sign = (userId: string, issuedAt = nowSeconds() - 5) =>
    generateUserSign({ appId: APP, identifier: userId, privateKey: KEY, expireSeconds: 3600, now: issuedAt });
  /** UserService as `userId` presenting `token`. */
  const users = (userId: string, token: string) => {
    const client = new grpc.Client(domain.grpcAddress, grpc.credentials.createInsecure());
    channels.push(client);
    const metadata = new grpc.Metadata();
    metadata.set("appid", String(APP));
    metadata.set("identifier", userId);
    metadata.set("usersign", token);
    return callerOf(client, UserServiceService, metadata);
  };
  const codeOf = async (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => errorCodeOf(e as grpc.ServiceError),
    );
  const device = (userId: string, token: string, imei = `${userId}-phone`) => {
    const c = new WhaleSharkClient({
      transport: tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort }),
      appId: APP,
      userId,
      clientType: 3,
      imei,
      userSign: () => token,
      reconnect: false,
    });
    clients.push(c);
    return c;
  };
  const loginCode = (userId: string, token: string) =>
    device(userId, token, `${userId}-${clients.length}`)
      .connect()
      .then(
        () => undefined,
        (e: unknown) => (e instanceof ClientError ? e.code : -1),
      );

  beforeAll(async () => {
    database = await migratedTestDatabase();
    kv = new MemoryKvStore();
    bus = new MemoryBus();
    config = loadConfig({
      env: {},
      overrides: {
        nodeId: "revocation-node",
        apps: { [String(APP)]: { privateKey: KEY, adminIds: [ADMIN] } },
        domain: { host: "127.0.0.1", port: 0, internalSecret: "revocation-internal-secret-0123" },
        gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0 },
        metrics: { enabled: false },
        auth: { maxClockSkewMs: 30_000 },
        shutdown: { graceMs: 1000 },
      },
    });
    const db = async () => database.db;
    const deps: RoleDeps = { logger, kv, bus, db, ...testDiscoveryDeps() };
    domain = await startDomain(deps, config);
    gateway = await startGateway({ ...deps, ...testDiscoveryDeps({ domain: domain.grpcAddress }) }, config);
    await database.db.userData.createMany({
      data: ["alice", "bob", "carol", ADMIN].map((userId) => ({ appId: APP, userId, nickName: userId })),
    });
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const c of channels) c.close();
    await gateway?.stop();
    await domain?.stop();
    await bus?.close();
    await kv?.close();
    await database?.close();
  });

  it("refuses a token issued beyond auth.maxClockSkewMs in the future: LOGIN and gRPC (60003)", async () => {
    const ahead = sign("alice", nowSeconds() + 120);
    expect(await loginCode("alice", ahead)).toBe(60003);
    expect(await codeOf(users("alice", ahead).getSingleUserInfo({ userId: "alice" }))).toBe(60003);
    // Within the skew (30 s here): accepted.
    const slightly = sign("alice", nowSeconds() + 10);
    expect(await loginCode("alice", slightly)).toBeUndefined();
    await users("alice", slightly).getSingleUserInfo({ userId: "alice" });
  });

  it("revokes a user's own tokens: old ones refused at LOGIN and on gRPC (60004), live connections closed, newer ones work", async () => {
    const old = sign("bob");
    const phone = device("bob", old);
    await phone.connect();
    const closes: ClientEvents["close"][] = [];
    phone.on("close", (e) => closes.push(e));
    await users("bob", old).getSingleUserInfo({ userId: "bob" }); // verified and cached

    const before = nowSeconds();
    const { revokedBefore, closedDevices } = await users("bob", old).revokeTokens({});
    // The second after the call's: a token issued in the very second of the call is refused too.
    expect(revokedBefore).toBeGreaterThanOrEqual(before + 1);
    expect(revokedBefore).toBeLessThanOrEqual(nowSeconds() + 1);
    expect(closedDevices).toBe(1);
    const row = await database.db.userData.findFirstOrThrow({ where: { appId: APP, userId: "bob" } });
    expect(row.tokensRevokedBefore).toBe(BigInt(revokedBefore));

    await eventually(() => closes.length === 1);
    expect(await codeOf(users("bob", old).getSingleUserInfo({ userId: "bob" }))).toBe(60004);
    expect(await loginCode("bob", old)).toBe(60004);
    // A token issued at the cut-off or later works, on both paths.
    const fresh = sign("bob", revokedBefore);
    await users("bob", fresh).getSingleUserInfo({ userId: "bob" });
    expect(await loginCode("bob", fresh)).toBeUndefined();
    // Others are untouched.
    await users("alice", sign("alice")).getSingleUserInfo({ userId: "alice" });
  });

  it("lets an app admin revoke anyone's tokens and nobody else (60005, 20001)", async () => {
    const carol = sign("carol");
    expect(await codeOf(users("alice", sign("alice")).revokeTokens({ userId: "carol" }))).toBe(60005);
    await users("carol", carol).getSingleUserInfo({ userId: "carol" });
    const { revokedBefore } = await users(ADMIN, sign(ADMIN)).revokeTokens({ userId: "carol" });
    expect(await codeOf(users("carol", carol).getSingleUserInfo({ userId: "carol" }))).toBe(60004);
    expect(await codeOf(users(ADMIN, sign(ADMIN)).revokeTokens({ userId: "nobody" }))).toBe(20001);
    // A second revocation never moves the cut-off back.
    const again = await users(ADMIN, sign(ADMIN)).revokeTokens({ userId: "carol" });
    expect(again.revokedBefore).toBeGreaterThanOrEqual(revokedBefore);
  });

  it("keeps refusing revoked tokens after kv lost the mirror (restored from the database)", async () => {
    const old = sign("alice", nowSeconds() - 30);
    await users(ADMIN, sign(ADMIN)).revokeTokens({ userId: "alice" });
    // kv loses the cut-off and the marker (a wiped Redis).
    await kv.del(revocationKey(APP, "alice"), REVOCATIONS_LOADED_KEY);
    expect(await codeOf(users("alice", old).getSingleUserInfo({ userId: "alice" }))).toBe(60004);
    expect(await kv.get(REVOCATIONS_LOADED_KEY)).not.toBeNull();
    expect(await loginCode("alice", old)).toBe(60004);
  });
});
