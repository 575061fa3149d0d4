import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { KV_EPOCH_KEY } from "../../lib/push/kv-epoch.js";
import { decodeSession, type SessionRecord, sessionKey } from "../../lib/sessions/session-record.js";
import type { LocalRegistry } from "./local-registry.js";
import { startSessionRestorer } from "./session-restorer.js";
import { SessionStore } from "./session-store.js";

const record = (userId: string, lastSeenMs: number): SessionRecord => ({
  appId: 10001,
  userId,
  clientType: 1,
  imei: `${userId}-web`,
  nodeId: "gw-1",
  connectionId: `c-${userId}`,
  connectState: 1,
  messageType: 0,
  loginAtMs: lastSeenMs,
  lastSeenMs,
});

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe("startSessionRestorer", () => {
  it("writes every logged-in connection's session back once kv lost them, and nothing while it has them", async () => {
    const kv = new MemoryKvStore();
    let now = 1_000_000;
    const sessions = new SessionStore(kv, { sessionTtlMs: 300_000, heartbeatTimeoutMs: 90_000 }, () => now);
    const conns = [
      { state: "logged-in", session: record("ann", now) },
      { state: "logged-in", session: record("bob", now) },
      { state: "open", session: undefined }, // not logged in yet: nothing to restore
    ];
    const registry = { all: () => conns } as unknown as LocalRegistry;
    for (const c of conns) if (c.session !== undefined) await sessions.put(c.session);
    const told: string[] = [];
    const restorer = await startSessionRestorer({
      kv,
      registry,
      sessions,
      nodeId: "gw-1",
      logger: pino({ level: "silent" }),
      everyMs: 60_000,
      presence: {
        restored: async (appId, userId, clientType, imei) => {
          told.push(`${appId}:${userId}:${clientType}:${imei}`);
        },
      },
    });
    stops.push(() => restorer.stop());

    expect(await restorer.check()).toBe(0);
    // kv loses everything (a flush, or a restart without persistence)
    await kv.del(KV_EPOCH_KEY, sessionKey(10001, "ann"), sessionKey(10001, "bob"));
    now += 5_000;
    expect(await restorer.check()).toBe(2);
    // online status watches the written-back devices again (lib/presence)
    expect(told.sort()).toEqual(["10001:ann:1:ann-web", "10001:bob:1:bob-web"]);
    for (const user of ["ann", "bob"]) {
      const hash = await kv.hgetall(sessionKey(10001, user));
      const restored = decodeSession(Object.values(hash)[0] ?? "");
      expect(restored).toMatchObject({ userId: user, connectState: 1, lastSeenMs: now });
    }
    expect(conns[0]?.session?.lastSeenMs).toBe(now); // the connection holds the record written
    expect(await kv.get(KV_EPOCH_KEY)).not.toBeNull(); // re-created, so the next loss is seen
    expect(await restorer.check()).toBe(0);
    await kv.close();
  });

  it("restores after an epoch another process re-created first, and retries a restore that failed", async () => {
    const kv = new MemoryKvStore();
    const sessions = new SessionStore(kv, { sessionTtlMs: 300_000, heartbeatTimeoutMs: 90_000 });
    const conns = [{ state: "logged-in", session: record("ann", Date.now()) }];
    const registry = { all: () => conns } as unknown as LocalRegistry;
    await sessions.put(conns[0]?.session as SessionRecord);
    const restorer = await startSessionRestorer({
      kv,
      registry,
      sessions,
      nodeId: "gw-1",
      logger: pino({ level: "silent" }),
      everyMs: 60_000,
    });
    stops.push(() => restorer.stop());
    expect(await kv.get(KV_EPOCH_KEY)).not.toBeNull(); // created by the first read at start

    // kv lost everything and a domain's send re-created the epoch before this gateway looked
    await kv.del(KV_EPOCH_KEY, sessionKey(10001, "ann"));
    await kv.set(KV_EPOCH_KEY, "12345");
    const renew = sessions.renew.bind(sessions);
    sessions.renew = async () => {
      throw new Error("kv unavailable");
    };
    await expect(restorer.check()).rejects.toThrow("kv unavailable");
    sessions.renew = renew;
    expect(await restorer.check()).toBe(1); // still owed, though the epoch has not changed since
    expect(Object.keys(await kv.hgetall(sessionKey(10001, "ann")))).toHaveLength(1);
    expect(await restorer.check()).toBe(0);
    await kv.close();
  });
});
