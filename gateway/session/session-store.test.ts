import { describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import { sessionKey } from "../../lib/sessions/session-record.js";
import { SessionStore } from "./session-store.js";

const base: SessionRecord = {
  appId: 10001,
  userId: "u1",
  clientType: 3,
  imei: "phone",
  nodeId: "n1",
  connectionId: "c1",
  connectState: 1,
  messageType: 0,
  loginAtMs: 0,
  lastSeenMs: 0,
};

function store(now: { t: number }) {
  const kv = new MemoryKvStore();
  return {
    kv,
    sessions: new SessionStore(kv, { sessionTtlMs: 300_000, heartbeatTimeoutMs: 90_000 }, () => now.t),
  };
}

describe("SessionStore", () => {
  it("derives its numbers from the config: renew every 45 s, online for 180 s", () => {
    const { sessions } = store({ t: 0 });
    expect(sessions.renewEveryMs).toBe(45_000);
    expect(sessions.onlineWindowMs).toBe(180_000);
    // A live record is never older than renewEvery + heartbeat: within both windows.
    expect(sessions.renewEveryMs + 90_000).toBeLessThan(sessions.onlineWindowMs);
    expect(sessions.renewEveryMs + 90_000).toBeLessThan(sessions.ttlMs);
  });

  it("writes one field per device and lists only online, fresh devices", async () => {
    const now = { t: 1_000_000 };
    const { kv, sessions } = store(now);
    await sessions.put({ ...base, lastSeenMs: now.t });
    await sessions.put({ ...base, imei: "old", connectState: 2, lastSeenMs: now.t });
    await sessions.put({ ...base, imei: "stale", lastSeenMs: now.t - 200_000 });
    await kv.hset(sessionKey(10001, "u1"), { "9:junk": "not json" });
    expect((await sessions.devices(10001, "u1")).map((d) => d.field).sort()).toEqual([
      "3:old",
      "3:phone",
      "3:stale",
    ]);
    expect((await sessions.onlineDevices(10001, "u1")).map((d) => d.field)).toEqual(["3:phone"]);
  });

  it("renews when due and moves lastSeenMs", async () => {
    const now = { t: 1_000_000 };
    const { sessions } = store(now);
    const record = { ...base, lastSeenMs: now.t };
    await sessions.put(record);
    now.t += 44_999;
    expect(sessions.renewalDue(record)).toBe(false);
    now.t += 1;
    expect(sessions.renewalDue(record)).toBe(true);
    expect((await sessions.renew(record)).lastSeenMs).toBe(now.t);
    expect((await sessions.devices(10001, "u1"))[0]?.record.lastSeenMs).toBe(now.t);
  });

  it("marks offline and deletes only while the record still names the connection", async () => {
    const { sessions } = store({ t: 5 });
    await sessions.put(base);
    // The device logged in again on another connection: the old one must not touch the record.
    await sessions.put({ ...base, connectionId: "c2" });
    expect(await sessions.markOffline(base)).toBe(false);
    expect(await sessions.remove(base)).toBe(false);
    expect((await sessions.devices(10001, "u1"))[0]?.record.connectState).toBe(1);
    const current = { ...base, connectionId: "c2" };
    expect(await sessions.markOffline(current)).toBe(true);
    expect((await sessions.devices(10001, "u1"))[0]?.record).toMatchObject({
      connectState: 2,
      connectionId: "c2",
    });
    expect(await sessions.remove(current)).toBe(true);
    expect(await sessions.devices(10001, "u1")).toEqual([]);
  });
});
