import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../../gen/prisma/client.js";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { ImError } from "../../../lib/errors/index.js";
import {
  claimKey,
  DUE_BUCKET_MS,
  dueBucket,
  dueKey,
  PresenceMarks,
  writeCustomStatus,
} from "../../../lib/presence/presence-keys.js";
import type { PushItem } from "../../../lib/push/pusher.js";
import {
  encodeSession,
  type SessionRecord,
  sessionField,
  sessionKey,
} from "../../../lib/sessions/session-record.js";
import { Presence, type PresenceSettings } from "./presence.js";
import { queryPresence } from "./presence-state.js";
import { subscribe, subscribersOf, unsubscribe } from "./subscriptions.js";

const APP = 10001;
const WINDOW = 4000;
const SETTINGS: PresenceSettings = {
  notifyFriends: true,
  coalesceMs: 1000,
  maxSubscribers: 2,
  maxSubscriptions: 3,
  defaultSubscriptionTtlMs: 60_000,
  maxSubscriptionTtlMs: 3_600_000,
  sweepIntervalMs: 100,
  onlineWindowMs: WINDOW,
};

describe("Presence (memory kv, a recording pusher)", () => {
  let kv: MemoryKvStore;
  let now: number;
  let pushed: PushItem[];
  let friends: Record<string, string[]>;
  let presence: Presence;

  beforeEach(() => {
    kv = new MemoryKvStore();
    now = 1_000_000_000_000;
    pushed = [];
    friends = { alice: ["bob"] };
    const db = async () =>
      ({
        friendship: {
          findMany: async (q: { where: { fromId: string } }) =>
            (friends[q.where.fromId] ?? []).map((toId) => ({ toId })),
        },
      }) as unknown as PrismaClient;
    presence = new Presence({
      kv,
      pusher: {
        pushAll: async (_app, items) => {
          pushed.push(...items);
          return [];
        },
      },
      db,
      logger: pino({ level: "silent" }),
      settings: { ...SETTINGS },
      now: () => now,
    });
  });
  afterEach(() => kv.close());

  async function device(userId: string, imei: string, state: 1 | 2, lastSeenMs = now): Promise<void> {
    const r: SessionRecord = {
      appId: APP,
      userId,
      clientType: 3,
      imei,
      nodeId: "gw-1",
      connectionId: `c-${imei}`,
      connectState: state,
      messageType: 0,
      loginAtMs: lastSeenMs,
      lastSeenMs,
    };
    await kv.hset(sessionKey(APP, userId), { [sessionField(3, imei)]: encodeSession(r) });
  }

  /** Lets time pass and sweeps, as the timer would. */
  async function advance(ms: number): Promise<number> {
    now += ms;
    return presence.sweep();
  }

  const of = (command: number) => pushed.filter((p) => p.command === command);

  it("pushes a login once the coalescing window passed: 4004 to friends and subscribers, 4005 to own devices", async () => {
    await subscribe(kv, APP, "carol", ["alice"], now + 60_000, now, SETTINGS);
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    expect(await advance(500)).toBe(0); // still inside the window
    expect(await advance(1000)).toBe(1);
    expect(
      of(4004)
        .map((p) => p.userId)
        .sort(),
    ).toEqual(["bob", "carol"]);
    expect(of(4004)[0]?.data).toEqual({
      appId: APP,
      clientType: 3,
      customStatus: "",
      imei: "phone",
      status: 1,
      userId: "alice",
    });
    expect(of(4005)).toEqual([
      expect.objectContaining({
        userId: "alice",
        target: { kind: "allExcept", clientType: 3, imei: "phone" },
      }),
    ]);
  });

  it("coalesces a flapping device: only a change of the final state is pushed", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    // offline, online, offline, online within the window: the final state is the published one
    for (const state of [2, 1, 2, 1] as const) {
      await device("alice", "phone", state);
      await presence.changed(APP, "alice");
      now += 100;
    }
    await advance(1500);
    expect(pushed).toEqual([]);
  });

  it("finds a dead gateway's device offline when its record goes stale, with no mark from anyone", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    // The gateway died: nobody renews the record nor marks the user. The sweep's own schedule does.
    for (let t = 0; t < WINDOW + 2 * DUE_BUCKET_MS; t += 250) await advance(250);
    expect(of(4004)).toEqual([
      expect.objectContaining({ userId: "bob", data: expect.objectContaining({ status: 2 }) }),
    ]);
  });

  it("keeps a renewed device online across its scheduled evaluations", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    for (let t = 0; t < 3 * WINDOW; t += 250) {
      await advance(250);
      if (t % 1000 === 0) await device("alice", "phone", 1, now); // the live gateway's renewal
    }
    expect(pushed).toEqual([]);
  });

  it("pushes a custom status with the user's state and the setter device", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    await writeCustomStatus(kv, APP, "alice", { text: "in a meeting", clientType: 3, imei: "phone" });
    await presence.changed(APP, "alice");
    await advance(1500);
    expect(of(4004)).toEqual([
      expect.objectContaining({
        userId: "bob",
        data: expect.objectContaining({ status: 1, customStatus: "in a meeting" }),
      }),
    ]);
    const [query] = await queryPresence(kv, APP, ["alice"], now, WINDOW);
    expect(query).toMatchObject({
      status: 1,
      customStatus: "in a meeting",
      devices: [{ imei: "phone", status: 1 }],
    });
  });

  it("announces a cleared custom status once, naming the device that cleared it", async () => {
    await device("alice", "phone", 1);
    await writeCustomStatus(kv, APP, "alice", { text: "busy", clientType: 3, imei: "phone" });
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    await writeCustomStatus(kv, APP, "alice", { text: "", clientType: 3, imei: "phone" });
    await presence.changed(APP, "alice");
    await advance(1500);
    expect(of(4004)).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ imei: "phone", customStatus: "" }) }),
    ]);
    pushed = [];
    await device("alice", "phone", 1, now); // renewed by its gateway meanwhile
    await presence.changed(APP, "alice");
    await advance(1500);
    expect(pushed).toEqual([]);
  });

  it("after a kv loss, a restored device is watched again without being announced twice", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    pushed = [];
    await kv.close();
    kv = new MemoryKvStore(); // the wipe: snapshot, marks, everything gone
    presence = new Presence({
      kv,
      pusher: {
        pushAll: async (_app, items) => {
          pushed.push(...items);
          return [];
        },
      },
      db: async () =>
        ({ friendship: { findMany: async () => [{ toId: "bob" }] } }) as unknown as PrismaClient,
      logger: pino({ level: "silent" }),
      settings: { ...SETTINGS },
      now: () => now,
    });
    await device("alice", "phone", 1, now); // the gateway wrote the session back...
    await new PresenceMarks(kv, 1000, () => now).restored(APP, "alice", 3, "phone"); // ...and this
    await advance(1500);
    expect(pushed).toEqual([]);
    // The staleness watch is back: the gateway dies now and the phone goes offline.
    for (let t = 0; t < WINDOW + 2 * DUE_BUCKET_MS; t += 250) await advance(250);
    expect(of(4004)).toEqual([expect.objectContaining({ data: expect.objectContaining({ status: 2 }) })]);
  });

  it("does not notify friends when notifyFriends is off, only subscribers", async () => {
    (presence.settings as { notifyFriends: boolean }).notifyFriends = false;
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    await advance(1500);
    expect(of(4004)).toEqual([]);
    expect(of(4005)).toHaveLength(1);
  });

  it("leaves a bucket another domain claimed, and takes it over once the claim expired", async () => {
    await device("alice", "phone", 1);
    await presence.changed(APP, "alice");
    const bucket = dueBucket(now + 1000);
    await kv.set(claimKey(bucket), "1", { ttlMs: 60_000 });
    expect(await advance(1500)).toBe(0);
    expect(Object.keys(await kv.hgetall(dueKey(bucket)))).toEqual([`${APP}:alice`]);
    await kv.del(claimKey(bucket)); // the claimer died, its claim expired
    expect(await advance(100)).toBe(1);
    expect(of(4004)).toHaveLength(1);
  });
});

describe("presence subscriptions", () => {
  let kv: MemoryKvStore;
  const now = 1_000_000;
  beforeEach(() => {
    kv = new MemoryKvStore();
  });
  afterEach(() => kv.close());

  it("counts only live subscriptions and ends them at their TTL", async () => {
    await subscribe(kv, APP, "carol", ["alice"], now + 1000, now, SETTINGS);
    expect(await subscribersOf(kv, APP, "alice", now + 999)).toEqual(["carol"]);
    expect(await subscribersOf(kv, APP, "alice", now + 1000)).toEqual([]);
  });

  it("refuses past the subscriber's limit with 20004 and writes nothing", async () => {
    await subscribe(kv, APP, "carol", ["a", "b"], now + 1000, now, SETTINGS);
    const refused = subscribe(kv, APP, "carol", ["c", "d"], now + 1000, now, SETTINGS);
    await expect(refused).rejects.toBeInstanceOf(ImError);
    await expect(refused).rejects.toMatchObject({ code: 20004 });
    expect(await subscribersOf(kv, APP, "c", now)).toEqual([]);
    // renewing what it has is no addition
    await subscribe(kv, APP, "carol", ["a", "b", "c"], now + 2000, now, SETTINGS);
  });

  it("refuses past a target's subscriber limit with 20004", async () => {
    await subscribe(kv, APP, "u1", ["alice"], now + 1000, now, SETTINGS);
    await subscribe(kv, APP, "u2", ["alice"], now + 1000, now, SETTINGS);
    await expect(subscribe(kv, APP, "u3", ["alice"], now + 1000, now, SETTINGS)).rejects.toMatchObject({
      code: 20004,
    });
    // an ended subscription frees its slot
    await subscribe(kv, APP, "u3", ["alice"], now + 3000, now + 1000, SETTINGS);
    await unsubscribe(kv, APP, "u3", ["alice"]);
    expect(await subscribersOf(kv, APP, "alice", now + 1000)).toEqual([]);
  });
});
