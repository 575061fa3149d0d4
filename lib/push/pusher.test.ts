import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { MemoryBus } from "../adapters/memory/bus.js";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import {
  deliveryQueue,
  encodeSession,
  type SessionRecord,
  sessionField,
  sessionKey,
} from "../sessions/session-record.js";
import { deliveryData } from "./delivery-batch.js";
import { ALL, exceptCaller, Pusher } from "./pusher.js";

const NOW = 1_700_000_000_000;
const TTL = 60_000;

let kv: MemoryKvStore;
let bus: MemoryBus;
let pusher: Pusher;
/** Every batch `received` decoded, as published. */
let rawBatches: DeliveryBatch[];

async function login(
  userId: string,
  clientType: number,
  imei: string,
  nodeId: string,
  extra: Partial<SessionRecord> = {},
) {
  const record: SessionRecord = {
    appId: 10001,
    userId,
    clientType,
    imei,
    nodeId,
    connectionId: `${nodeId}-${userId}-${imei}`,
    connectState: 1,
    messageType: 0,
    loginAtMs: NOW - 1000,
    lastSeenMs: NOW - 1000,
    ...extra,
  };
  await kv.hset(sessionKey(10001, userId), { [sessionField(clientType, imei)]: encodeSession(record) });
}

/** A delivery with the frame data it resolves to (its batch payload). */
type Received = Delivery & { data: string };

/** Drains what each node's queue received: node → batches (their deliveries). */
async function received(...nodes: string[]): Promise<Map<string, Received[][]>> {
  const out = new Map<string, Received[][]>();
  for (const node of nodes) {
    const batches: Received[][] = [];
    try {
      const consumer = await bus.consume(deliveryQueue(node), async (msg) => {
        const batch = DeliveryBatch.decode(msg.body);
        rawBatches.push(batch);
        batches.push(
          batch.deliveries.map((d) => ({
            ...d,
            data: Buffer.from(deliveryData(batch, d) ?? "<no payload>").toString("utf8"),
          })),
        );
      });
      await new Promise((r) => setTimeout(r, 20));
      await consumer.stop();
    } catch {
      // never declared: nothing was published to it
    }
    out.set(node, batches);
  }
  return out;
}

beforeEach(() => {
  rawBatches = [];
  kv = new MemoryKvStore();
  bus = new MemoryBus();
  pusher = new Pusher({ kv, bus, logger: pino({ level: "silent" }), sessionTtlMs: TTL, now: () => NOW });
});

afterEach(async () => {
  await bus.close();
  await kv.close();
});

describe("Pusher", () => {
  it("sends one batch per node to every online device, with the JSON data", async () => {
    await login("u1", 1, "web", "n1");
    await login("u1", 2, "ios", "n2");
    await login("u1", 3, "android", "n1");
    const targeted = await pusher.push(10001, "u1", 3000, { fromId: "u1", toId: "u2" });
    expect(targeted.map((d) => d.imei).sort()).toEqual(["android", "ios", "web"]);
    const got = await received("n1", "n2");
    expect(got.get("n1")).toHaveLength(1);
    expect(
      got
        .get("n1")?.[0]
        ?.map((d) => d.imei)
        .sort(),
    ).toEqual(["android", "web"]);
    expect(got.get("n2")?.[0]?.map((d) => d.imei)).toEqual(["ios"]);
    const delivery = got.get("n2")?.[0]?.[0];
    expect(delivery?.command).toBe(3000);
    expect(delivery?.userId).toBe("u1");
    expect(delivery?.appId).toBe(10001);
    expect(JSON.parse(delivery?.data ?? "")).toEqual({
      fromId: "u1",
      toId: "u2",
    });
  });

  it("skips the calling device with allExcept, and back-office calls reach all", async () => {
    await login("u1", 1, "web", "n1");
    await login("u1", 2, "ios", "n1");
    const except = await pusher.push(10001, "u1", 4000, {}, exceptCaller({ clientType: 1, imei: "web" }));
    expect(except.map((d) => d.imei)).toEqual(["ios"]);
    const all = await pusher.push(10001, "u1", 4000, {}, exceptCaller({ clientType: 0, imei: "" }));
    expect(all.map((d) => d.imei).sort()).toEqual(["ios", "web"]);
  });

  it("skips offline and stale devices for all, but 'one' targets the exact device", async () => {
    await login("u1", 1, "web", "n1", { connectState: 2 });
    await login("u1", 2, "ios", "n1", { lastSeenMs: NOW - TTL - 1 });
    await login("u1", 3, "android", "n1");
    expect((await pusher.push(10001, "u1", 1, {}, ALL)).map((d) => d.imei)).toEqual(["android"]);
    const one = await pusher.push(10001, "u1", 1046, {}, { kind: "one", clientType: 1, imei: "web" });
    expect(one.map((d) => d.imei)).toEqual(["web"]);
  });

  it("tolerates users without sessions and corrupt records (D29)", async () => {
    await kv.hset(sessionKey(10001, "u9"), { "1:web": "{not json" });
    expect(await pusher.push(10001, "nobody", 1, {})).toEqual([]);
    expect(await pusher.push(10001, "u9", 1, {}, { kind: "one", clientType: 1, imei: "web" })).toEqual([]);
  });

  it("fans a group notification out with one publish per node for all members", async () => {
    for (let i = 0; i < 10; i++) await login(`m${i}`, 1, "web", i % 2 === 0 ? "n1" : "n2");
    const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const targeted = await pusher.pushToUsers(10001, [...members, "m0"], 2003, { groupId: "g" });
    expect(targeted).toHaveLength(10);
    const got = await received("n1", "n2");
    expect(got.get("n1")).toHaveLength(1);
    expect(got.get("n2")).toHaveLength(1);
    expect(got.get("n1")?.[0]).toHaveLength(5);
  });

  it("sends items with their own data and targets in the same batches", async () => {
    await login("a", 1, "web", "n1");
    await login("a", 2, "ios", "n1");
    await login("b", 1, "web", "n1");
    await pusher.pushAll(10001, [
      {
        userId: "a",
        target: exceptCaller({ clientType: 1, imei: "web" }),
        command: 3000,
        data: { toId: "b" },
      },
      { userId: "b", target: ALL, command: 3000, data: { toId: "a" } },
    ]);
    const batches = (await received("n1")).get("n1") ?? [];
    expect(batches).toHaveLength(1);
    const summary = batches[0]?.map((d) => `${d.userId}/${d.imei}:${d.data}`);
    expect(summary?.sort()).toEqual(['a/ios:{"toId":"b"}', 'b/web:{"toId":"a"}']);
  });

  it("carries each distinct payload once per batch, however many deliveries use it", async () => {
    for (let i = 0; i < 50; i++) await login(`m${i}`, 1, "web", "n1");
    await login("m0", 2, "ios", "n1");
    const members = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const big = { groupId: "g", messageBody: "x".repeat(1000) };
    await pusher.pushAll(10001, [
      ...members.map((userId) => ({ userId, target: ALL, command: 2104, data: big })),
      { userId: "m1", target: ALL, command: 3000, data: { other: true } },
    ]);
    const [deliveries] = (await received("n1")).get("n1") ?? [];
    expect(deliveries).toHaveLength(52);
    const [batch] = rawBatches;
    expect(batch?.payloads).toHaveLength(2);
    expect(new Set(deliveries?.map((d) => d.payloadIndex))).toEqual(new Set([0, 1]));
    expect(deliveries?.every((d) => d.dataJson.length === 0)).toBe(true);
    expect(deliveries?.filter((d) => d.command === 2104).every((d) => d.data === JSON.stringify(big))).toBe(
      true,
    );
    // One copy of the 1 KB body on the bus, not 51.
    expect(DeliveryBatch.encode(batch as DeliveryBatch).finish().length).toBeLessThan(5_000);
  });

  it("reads the sessions of every user of a push in one kv round trip", async () => {
    for (let i = 0; i < 20; i++) await login(`m${i}`, 1, "web", "n1");
    const calls = { hgetall: 0, hgetallMany: 0 };
    const hgetallMany = kv.hgetallMany.bind(kv);
    kv.hgetall = async () => {
      calls.hgetall++;
      return {};
    };
    kv.hgetallMany = async (keys) => {
      calls.hgetallMany++;
      return hgetallMany(keys);
    };
    const users = Array.from({ length: 40 }, (_, i) => `m${i}`); // half of them never logged in
    const targeted = await pusher.pushToUsers(10001, users, 2104, { groupId: "g" });
    expect(targeted).toHaveLength(20);
    expect(calls).toEqual({ hgetall: 0, hgetallMany: 1 });
  });

  it("publishes the pushes of one turn together: one session read, one batch per node, items in call order", async () => {
    await login("a", 1, "web", "n1");
    await login("b", 1, "web", "n1");
    await login("c", 1, "web", "n2");
    let reads = 0;
    const hgetallMany = kv.hgetallMany.bind(kv);
    kv.hgetallMany = async (keys) => {
      reads++;
      return hgetallMany(keys);
    };
    const pushes = await Promise.all([
      pusher.push(10001, "a", 1103, { n: 1 }),
      pusher.push(10001, "b", 1103, { n: 2 }),
      pusher.push(10001, "c", 1103, { n: 3 }),
      pusher.push(10001, "a", 1103, { n: 4 }),
    ]);
    expect(pushes.map((t) => t.map((d) => d.userId))).toEqual([["a"], ["b"], ["c"], ["a"]]);
    expect(reads).toBe(1);
    const got = await received("n1", "n2");
    expect(got.get("n1")?.map((batch) => batch.map((d) => `${d.userId}${d.data}`))).toEqual([
      ['a{"n":1}', 'b{"n":2}', 'a{"n":4}'],
    ]);
    expect(got.get("n2")).toHaveLength(1);
  });

  it("fails only the pushes of a turn that named the node whose publish failed", async () => {
    await login("a", 1, "web", "n1");
    await login("c", 1, "web", "bad");
    const publish = bus.publish.bind(bus);
    bus.publish = async (queue, body, headers) => {
      if (queue === deliveryQueue("bad")) throw new Error("broker refused");
      return publish(queue, body, headers);
    };
    const [ok, failed] = await Promise.allSettled([
      pusher.push(10001, "a", 1103, { n: 1 }),
      pusher.push(10001, "c", 1103, { n: 2 }),
    ]);
    expect(ok.status).toBe("fulfilled");
    expect(failed.status === "rejected" && String(failed.reason)).toContain("broker refused");
  });

  it("closeUser closes every session of the user by connection id, writing nothing (revocation)", async () => {
    await login("u1", 1, "web", "n1");
    await login("u1", 2, "ios", "n2", { connectState: 2 }); // offline records are targeted too
    await login("u2", 1, "web", "n1");
    const closed = await pusher.closeUser(10001, "u1");
    expect(closed.map((d) => `${d.nodeId}/${d.imei}`).sort()).toEqual(["n1/web", "n2/ios"]);
    const got = await received("n1", "n2");
    expect(got.get("n1")?.[0]).toMatchObject([
      { userId: "u1", command: 0, closeAfter: true, connectionId: "n1-u1-web", data: "" },
    ]);
    expect(got.get("n2")?.[0]).toMatchObject([{ command: 0, closeAfter: true, connectionId: "n2-u1-ios" }]);
    expect(await pusher.closeUser(10001, "nobody")).toEqual([]);
  });
});
