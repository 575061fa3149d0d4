import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { MemoryBus } from "../adapters/memory/bus.js";
import type { BusConsumer } from "../ports/bus.js";
import {
  DELIVERY_QUEUE_OPTIONS,
  deliveryQueue,
  encodeSession,
  sessionField,
  sessionKey,
} from "../sessions/session-record.js";
import { WipeableKv } from "../testing/wipeable-kv.js";
import { deliveryData } from "./delivery-batch.js";
import { KV_EPOCH_KEY, KvEpochWatch } from "./kv-epoch.js";
import { Pusher } from "./pusher.js";

const NOW = 1_700_000_000_000;
const WINDOW = 10_000;

let kv: WipeableKv;
let bus: MemoryBus;
let pusher: Pusher;
let now: number;
let consumers: BusConsumer[];
/** What each node's queue received, as `imei:data` strings in arrival order. */
let got: Map<string, string[]>;

async function login(userId: string, imei: string, nodeId: string) {
  const record = {
    appId: 10001,
    userId,
    clientType: 3,
    imei,
    nodeId,
    connectionId: `${nodeId}-${userId}-${imei}`,
    connectState: 1,
    messageType: 0,
    loginAtMs: NOW,
    lastSeenMs: NOW,
  } as const;
  await kv.hset(sessionKey(10001, userId), { [sessionField(3, imei)]: encodeSession(record) });
}

async function listen(...nodes: string[]) {
  for (const node of nodes) {
    const list: string[] = [];
    got.set(node, list);
    await bus.declareQueue(deliveryQueue(node), DELIVERY_QUEUE_OPTIONS);
    consumers.push(
      await bus.consume(deliveryQueue(node), async (msg) => {
        const batch = DeliveryBatch.decode(msg.body);
        for (const d of batch.deliveries)
          list.push(`${d.imei}:${Buffer.from(deliveryData(batch, d) ?? []).toString("utf8")}`);
      }),
    );
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two pushes with kv intact, so the Pusher has seen the epoch (its first read is never a loss). */
async function settle() {
  await pusher.push(10001, "nobody", 1103, "warm-1");
  await pusher.push(10001, "nobody", 1103, "warm-2");
}

beforeEach(async () => {
  kv = new WipeableKv();
  bus = new MemoryBus();
  now = NOW;
  consumers = [];
  got = new Map();
  pusher = new Pusher({
    kv,
    bus,
    logger: pino({ level: "silent" }),
    sessionTtlMs: 60_000,
    now: () => now,
    lossWindowMs: WINDOW,
    retryEveryMs: 20,
  });
  await listen("n1", "n2");
});

afterEach(async () => {
  for (const c of consumers) await c.stop();
  await bus.close();
});

describe("Pusher after a kv loss", () => {
  it("delivers a push that found nobody once the session is back, before newer pushes, once", async () => {
    await login("bob", "phone", "n1");
    await settle();
    await pusher.push(10001, "bob", 1103, "m0");
    kv.wipe(); // Redis lost everything: bob's session and the epoch
    expect(await pusher.push(10001, "bob", 1103, "m1")).toEqual([]);
    expect(pusher.keptCount).toBe(1);
    await sleep(60); // retries find nobody yet
    await login("bob", "phone", "n2"); // the gateway wrote it back (he reconnected elsewhere)
    await pusher.push(10001, "bob", 1103, "m2");
    await sleep(100); // several retry periods: nothing is sent twice
    expect(got.get("n1")).toEqual(['phone:"m0"']);
    expect(got.get("n2")).toEqual(['phone:"m1"', 'phone:"m2"']);
    expect(pusher.retriedDeliveries).toBe(1);
  });

  it("keeps the order when a turn's read was under way while an earlier turn kept a push", async () => {
    await login("bob", "phone", "n1");
    await settle();
    // Reads answer in the order they were asked, as one Redis connection does; the first read
    // after the wipe is slow, so the next turn's read is under way before it is answered.
    let slowNext = false;
    let answered: Promise<unknown> = Promise.resolve();
    const read = kv.hgetallMany;
    kv.hgetallMany = (keys) => {
      const result = read(keys);
      const delay = slowNext ? 50 : 0;
      slowNext = false;
      const reply = answered.then(() => sleep(delay)).then(() => result);
      answered = reply;
      return reply;
    };
    kv.wipe();
    slowNext = true;
    const first = pusher.push(10001, "bob", 1103, "m1"); // finds nobody, kept when answered
    await sleep(10);
    await login("bob", "phone", "n2");
    await pusher.push(10001, "bob", 1103, "m2"); // read while the first one's answer is pending
    await first;
    await sleep(60);
    expect(got.get("n2")).toEqual(['phone:"m1"', 'phone:"m2"']);
  });

  it("retries on its own timer, and sends a kept push only to the devices it has not reached", async () => {
    await login("ann", "phone", "n1");
    await login("ann", "tablet", "n1");
    await settle();
    kv.wipe();
    await login("ann", "phone", "n1"); // one gateway restored before the push, the other not yet
    const first = await pusher.push(10001, "ann", 1103, "m1");
    expect(first.map((d) => d.imei)).toEqual(["phone"]);
    await login("ann", "tablet", "n2");
    await sleep(100); // no new push: the retry timer sends it
    expect(got.get("n1")).toEqual(['phone:"m1"']);
    expect(got.get("n2")).toEqual(['tablet:"m1"']);
  });

  it("retries a kept push for an idle user also while other users' pushes keep every turn busy", async () => {
    await settle();
    kv.wipe();
    await pusher.push(10001, "bob", 1103, "m1");
    await login("bob", "phone", "n1");
    const until = Date.now() + 150;
    while (Date.now() < until) {
      // a push every turn, none of them to bob: the retry timer finds a turn under way each time
      void pusher.push(10001, "carl", 1103, "c");
      await new Promise((r) => setImmediate(r));
    }
    await sleep(10);
    expect(got.get("n1")).toEqual(['phone:"m1"']);
  });

  it("keeps nothing without a kv loss: a push to an offline user is not retried", async () => {
    await settle();
    await pusher.push(10001, "bob", 1103, "m1");
    expect(pusher.keptCount).toBe(0);
    await login("bob", "phone", "n1");
    await sleep(60);
    expect(got.get("n1")).toEqual([]);
  });

  it("is bounded: keeps no item beyond the cap, and gives kept ones up when the window is over", async () => {
    const capped = new Pusher({
      kv,
      bus,
      logger: pino({ level: "silent" }),
      sessionTtlMs: 60_000,
      now: () => now,
      lossWindowMs: WINDOW,
      retryEveryMs: 20,
      maxKept: 2,
    });
    await capped.push(10001, "nobody", 1, "warm-1");
    await capped.push(10001, "nobody", 1, "warm-2");
    kv.wipe();
    await capped.pushAll(10001, [
      { userId: "bob", target: { kind: "all" }, command: 1103, data: "m1" },
      { userId: "bob", target: { kind: "all" }, command: 1103, data: "m2" },
      { userId: "bob", target: { kind: "all" }, command: 1103, data: "m3" },
    ]);
    expect([capped.keptCount, capped.keptGivenUp]).toEqual([2, 1]);
    await login("bob", "phone", "n1");
    await sleep(60);
    expect(got.get("n1")).toEqual(['phone:"m1"', 'phone:"m2"']);

    kv.wipe();
    await capped.push(10001, "carl", 1103, "c1"); // m1 and m2 are still kept: c1 is not
    now += WINDOW; // the window (opened by the second loss) is over
    await login("carl", "phone", "n1");
    await capped.push(10001, "carl", 1103, "c2");
    await sleep(60);
    expect(got.get("n1")).toEqual(['phone:"m1"', 'phone:"m2"', 'phone:"c2"']);
    expect(capped.keptCount).toBe(0);
    expect(capped.keptGivenUp).toBe(4); // m3 and c1 at the cap, m1 and m2 when the window ended
  });

  it("re-creates the epoch it found missing, so the next loss is seen", async () => {
    await settle();
    kv.wipe();
    await pusher.push(10001, "nobody", 1, "x");
    expect(await kv.get(KV_EPOCH_KEY)).not.toBeNull();
  });
});

describe("KvEpochWatch", () => {
  it("never calls the first read a loss; a missing or changed epoch after that is one", () => {
    const watch = new KvEpochWatch();
    expect(watch.observe(null)).toBe(false);
    expect(watch.observe("100")).toBe(false);
    expect(watch.observe("100")).toBe(false);
    expect(watch.observe("200")).toBe(true);
    expect(watch.observe(null)).toBe(true);
    expect(watch.observe(null)).toBe(false); // the same loss, seen again before it was re-created
    expect(watch.observe("300")).toBe(false);
  });
});
