import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../../gen/prisma/client.js";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { ImError } from "../../../lib/errors/index.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import { customKey, parseCustomStatus } from "../../../lib/presence/presence-keys.js";
import { Presence } from "./presence.js";
import { presenceHandlers } from "./presence-service.js";

const APP = 10001;
const log = pino({ level: "silent" });

function ctx(operator: string, admin = false): RequestContext {
  return {
    appId: APP,
    operator,
    identifier: operator,
    device: { clientType: 3, imei: `${operator}-phone` },
    isAdmin: async () => admin,
    log,
  };
}

async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof ImError ? e.code : -1),
  );
}

describe("PresenceService handlers", () => {
  let kv: MemoryKvStore;
  let h: ReturnType<typeof presenceHandlers>;
  const now = 1_000_000_000_000;

  beforeEach(() => {
    kv = new MemoryKvStore();
    const presence = new Presence({
      kv,
      pusher: { pushAll: async () => [] },
      db: async () => ({}) as PrismaClient,
      logger: log,
      settings: {
        notifyFriends: false,
        coalesceMs: 1000,
        maxSubscribers: 10,
        maxSubscriptions: 10,
        defaultSubscriptionTtlMs: 60_000,
        maxSubscriptionTtlMs: 3_600_000,
        sweepIntervalMs: 500,
        onlineWindowMs: 4000,
      },
      now: () => now,
    });
    h = presenceHandlers(presence);
  });
  afterEach(() => kv.close());

  const base = { appId: APP, operater: "", clientType: 0, imei: "" };

  it("lets a user subscribe for themself, an admin for anyone, nobody else (60005)", async () => {
    const sub = await h.subscribe?.({ ...base, fromId: "", userIds: ["bob"], ttlSeconds: 0 }, ctx("alice"));
    expect(sub).toMatchObject({ expireTime: now + 60_000, users: [{ userId: "bob", status: 2 }] });
    expect(
      await codeOf(
        Promise.resolve(
          h.subscribe?.({ ...base, fromId: "carol", userIds: ["bob"], ttlSeconds: 0 }, ctx("alice")),
        ),
      ),
    ).toBe(60005);
    await h.subscribe?.({ ...base, fromId: "carol", userIds: ["bob"], ttlSeconds: 0 }, ctx("ops", true));
  });

  it("refuses a bad list or TTL with 90001", async () => {
    const sub = (userIds: string[], ttlSeconds = 0) =>
      codeOf(Promise.resolve(h.subscribe?.({ ...base, fromId: "", userIds, ttlSeconds }, ctx("alice"))));
    expect(await sub([""])).toBe(90001);
    expect(await sub(["x".repeat(51)])).toBe(90001);
    expect(await sub(["alice"])).toBe(90001); // itself
    expect(await sub(["bob"], 3601)).toBe(90001);
    expect(await sub(["bob"], -1)).toBe(90001);
  });

  it("sets the custom status of the operator, with the calling device; others' only as admin", async () => {
    await h.setCustomStatus?.({ ...base, userId: "", customStatus: "lunch" }, ctx("alice"));
    expect(parseCustomStatus(await kv.get(customKey(APP, "alice")))).toEqual({
      text: "lunch",
      clientType: 3,
      imei: "alice-phone",
    });
    expect(
      await codeOf(
        Promise.resolve(h.setCustomStatus?.({ ...base, userId: "alice", customStatus: "x" }, ctx("bob"))),
      ),
    ).toBe(60005);
    expect(
      await codeOf(
        Promise.resolve(
          h.setCustomStatus?.({ ...base, userId: "", customStatus: "y".repeat(101) }, ctx("alice")),
        ),
      ),
    ).toBe(90001);
    const { users } = (await h.queryPresence?.({ ...base, userIds: ["alice", "alice"] }, ctx("bob"))) ?? {
      users: [],
    };
    expect(users).toEqual([{ userId: "alice", status: 2, devices: [], customStatus: "lunch" }]);
  });
});
