import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import {
  generateUserSign,
  mirrorRevocation,
  REVOCATIONS_LOADED_KEY,
  TokenRevocations,
} from "../auth/index.js";
import { GrpcStatus, isImError } from "../errors/index.js";
import {
  AppAuthenticator,
  authorizeRequestBase,
  INTERNAL_SECRET_METADATA,
  InternalAuthenticator,
  resolveInternalSecret,
} from "./auth.js";
import { grpcStatusOf } from "./errors.js";

const NOW = 1_780_000_000;
const apps = { "10001": { privateKey: "bantanger", adminIds: ["boss"] } };

let kv: MemoryKvStore;
let userTypes: Map<string, number>;
let lookups: number;

function authenticator() {
  return new AppAuthenticator({
    apps,
    kv,
    nowSeconds: () => NOW,
    userType: async (_appId, userId) => {
      lookups++;
      return userTypes.get(userId) ?? null;
    },
  });
}

function sign(
  identifier: string,
  opts: { appId?: number; key?: string; expire?: number; now?: number } = {},
) {
  return generateUserSign({
    appId: opts.appId ?? 10001,
    identifier,
    privateKey: opts.key ?? "bantanger",
    expireSeconds: opts.expire ?? 3600,
    now: opts.now ?? NOW - 10,
  });
}

function meta(values: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(values)) m.set(k, v);
  return m;
}

async function failure(promise: Promise<unknown> | (() => unknown)) {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    if (!isImError(error)) throw error;
    return { code: error.code, status: grpcStatusOf(error) };
  }
  throw new Error("expected a failure");
}

beforeEach(() => {
  kv = new MemoryKvStore();
  userTypes = new Map([
    ["admin", 100],
    ["alice", 1],
  ]);
  lookups = 0;
});
afterEach(() => kv.close());

describe("AppAuthenticator", () => {
  it("accepts a valid userSign and caches it until expiry", async () => {
    const token = sign("alice");
    const caller = await authenticator().authenticate(
      meta({ appid: "10001", identifier: "alice", usersign: token }),
    );
    expect(caller.appId).toBe(10001);
    expect(caller.identifier).toBe("alice");
    // A cached token passes without verification: a wrong key now would fail verification.
    const other = new AppAuthenticator({
      apps: { "10001": { privateKey: "another-key" } },
      kv,
      nowSeconds: () => NOW,
      userType: async () => null,
    });
    await expect(
      other.authenticate(meta({ appid: "10001", identifier: "alice", usersign: token })),
    ).resolves.toBeDefined();
    // ...but not after it expired.
    const later = new AppAuthenticator({
      apps: { "10001": { privateKey: "another-key" } },
      kv,
      nowSeconds: () => NOW + 7200,
      userType: async () => null,
    });
    expect(
      (await failure(later.authenticate(meta({ appid: "10001", identifier: "alice", usersign: token }))))
        .code,
    ).toBe(60004);
  });

  it("reports missing metadata in the original's order: 60001, 60002, 60000", async () => {
    const auth = authenticator();
    expect(await failure(auth.authenticate(meta({})))).toEqual({
      code: 60001,
      status: GrpcStatus.UNAUTHENTICATED,
    });
    expect((await failure(auth.authenticate(meta({ appid: "10001" })))).code).toBe(60002);
    expect((await failure(auth.authenticate(meta({ appid: "10001", identifier: "alice" })))).code).toBe(
      60000,
    );
    expect(
      (await failure(auth.authenticate(meta({ appid: "999", identifier: "a", usersign: "x" })))).code,
    ).toBe(60001);
    expect(
      (await failure(auth.authenticate(meta({ appid: "abc", identifier: "a", usersign: "x" })))).code,
    ).toBe(60001);
  });

  it("refuses bad, expired and foreign tokens", async () => {
    const auth = authenticator();
    const m = (usersign: string, identifier = "alice") => meta({ appid: "10001", identifier, usersign });
    expect((await failure(auth.authenticate(m("garbage!")))).code).toBe(60003);
    expect((await failure(auth.authenticate(m(sign("alice", { key: "wrong-key-1" }))))).code).toBe(60003);
    expect((await failure(auth.authenticate(m(sign("alice", { appId: 10002 }))))).code).toBe(60003);
    expect((await failure(auth.authenticate(m(sign("alice", { now: NOW - 7200 }))))).code).toBe(60004);
    expect(await failure(auth.authenticate(m(sign("bob"))))).toEqual({
      code: 60005,
      status: GrpcStatus.UNAUTHENTICATED,
    });
  });

  it("refuses a token issued further ahead than auth.maxClockSkewMs (60003), default one minute", async () => {
    const m = (usersign: string) => meta({ appid: "10001", identifier: "alice", usersign });
    const auth = authenticator();
    await auth.authenticate(m(sign("alice", { now: NOW + 60 })));
    expect(await failure(auth.authenticate(m(sign("alice", { now: NOW + 61 }))))).toEqual({
      code: 60003,
      status: GrpcStatus.UNAUTHENTICATED,
    });
    const strict = new AppAuthenticator({
      apps,
      kv,
      nowSeconds: () => NOW,
      userType: async () => 1,
      maxClockSkewMs: 5_000,
    });
    expect((await failure(strict.authenticate(m(sign("alice", { now: NOW + 6 }))))).code).toBe(60003);
    await strict.authenticate(m(sign("alice", { now: NOW + 5 })));
  });

  it("refuses tokens issued before the user's revocation cut-off, cached ones too (60004)", async () => {
    const auth = authenticator();
    const m = (usersign: string, identifier = "alice") => meta({ appid: "10001", identifier, usersign });
    const old = sign("alice", { now: NOW - 100 });
    await auth.authenticate(m(old)); // verified and cached
    await kv.set(REVOCATIONS_LOADED_KEY, "1");
    await mirrorRevocation(kv, 10001, "alice", NOW - 50);
    expect(await failure(auth.authenticate(m(old)))).toEqual({
      code: 60004,
      status: GrpcStatus.UNAUTHENTICATED,
    });
    // Issued at or after the cut-off: accepted. Other users are untouched.
    await auth.authenticate(m(sign("alice", { now: NOW - 50 })));
    await auth.authenticate(m(sign("admin", { now: NOW - 100 }), "admin"));
    // The mirror only moves forward.
    await mirrorRevocation(kv, 10001, "alice", NOW - 500);
    expect((await failure(auth.authenticate(m(sign("alice", { now: NOW - 60 }))))).code).toBe(60004);
  });

  it("restores the revocation mirror once when kv lost it, before answering", async () => {
    let restores = 0;
    const restoring = new AppAuthenticator({
      apps,
      kv,
      nowSeconds: () => NOW,
      userType: async () => 1,
      revocations: new TokenRevocations({
        kv,
        restore: async () => {
          restores++;
          await new Promise((r) => setTimeout(r, 5));
          await mirrorRevocation(kv, 10001, "alice", NOW);
          await kv.set(REVOCATIONS_LOADED_KEY, "1");
        },
      }),
    });
    const m = meta({ appid: "10001", identifier: "alice", usersign: sign("alice") });
    const outcomes = await Promise.all([1, 2, 3].map(() => failure(restoring.authenticate(m))));
    expect(outcomes.map((o) => o.code)).toEqual([60004, 60004, 60004]);
    expect(restores).toBe(1);
    // Without a restore (gateways, the store) kv is used as it is: the wiped cut-off is gone.
    const wiped = new MemoryKvStore();
    const plain = new AppAuthenticator({ apps, kv: wiped, nowSeconds: () => NOW, userType: async () => 1 });
    await plain.authenticate(m);
    await wiped.close();
  });

  it("knows admins from config or user_type 100, looked up once per call and only when asked", async () => {
    const auth = authenticator();
    const as = (id: string) =>
      auth.authenticate(meta({ appid: "10001", identifier: id, usersign: sign(id) }));
    const boss = await as("boss");
    expect(await boss.isAdmin()).toBe(true);
    expect(lookups).toBe(0);
    const admin = await as("admin");
    expect(await admin.isAdmin()).toBe(true);
    expect(await admin.isAdmin()).toBe(true);
    expect(lookups).toBe(1);
    expect(await (await as("alice")).isAdmin()).toBe(false);
  });
});

describe("authorizeRequestBase", () => {
  const caller = (identifier: string, admin = false) => ({
    appId: 10001,
    identifier,
    isAdmin: async () => admin,
  });
  const body = (over: Partial<{ appId: number; operater: string }> = {}) => ({
    appId: 10001,
    operater: "alice",
    clientType: 1,
    imei: "web",
    ...over,
  });

  it("lets a user act as themself and fills an empty app_id / operater", async () => {
    await authorizeRequestBase(caller("alice"), body());
    const empty = body({ appId: 0, operater: "" });
    await authorizeRequestBase(caller("alice"), empty);
    expect(empty).toMatchObject({ appId: 10001, operater: "alice" });
  });

  it("refuses acting for another user (PERMISSION_DENIED 60005) unless admin", async () => {
    expect(await failure(authorizeRequestBase(caller("mallory"), body()))).toEqual({
      code: 60005,
      status: GrpcStatus.PERMISSION_DENIED,
    });
    await authorizeRequestBase(caller("admin", true), body());
  });

  it("refuses another app, even for an admin", async () => {
    expect((await failure(authorizeRequestBase(caller("admin", true), body({ appId: 10002 })))).code).toBe(
      60005,
    );
  });
});

describe("InternalAuthenticator", () => {
  it("accepts the shared secret and refuses a missing or wrong one", async () => {
    const auth = new InternalAuthenticator("0123456789abcdef-secret");
    auth.authenticate(meta({ [INTERNAL_SECRET_METADATA]: "0123456789abcdef-secret" }));
    expect((await failure(() => auth.authenticate(meta({})))).code).toBe(60000);
    expect((await failure(() => auth.authenticate(meta({ [INTERNAL_SECRET_METADATA]: "nope" })))).code).toBe(
      60003,
    );
    expect(() => new InternalAuthenticator("short")).toThrow(RangeError);
  });

  it("resolves the secret: configured, required when distributed, per process when embedded", () => {
    const configured = "x".repeat(20);
    expect(resolveInternalSecret({ profile: "distributed", domain: { internalSecret: configured } })).toBe(
      configured,
    );
    expect(() => resolveInternalSecret({ profile: "distributed", domain: {} })).toThrow(/internalSecret/);
    const a = resolveInternalSecret({ profile: "embedded", domain: {} });
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(resolveInternalSecret({ profile: "embedded", domain: {} })).toBe(a);
  });
});
