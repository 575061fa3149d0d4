import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryBus } from "../adapters/memory/bus.js";
import type { BusMessage, QueueOptions } from "../ports/bus.js";
import { DELIVERY_QUEUE_OPTIONS, deliveryQueue } from "../sessions/session-record.js";
import { type NodeMessage, NodePublisher } from "./node-publisher.js";

const logger = pino({ level: "silent" });
const EXPIRES_MS = DELIVERY_QUEUE_OPTIONS.expiresMs ?? 0;
const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let bus: MemoryBus;
let now: number;
let publisher: NodePublisher;
/** Queues passed to bus.declareQueue, in call order. */
let declares: string[];

beforeEach(() => {
  bus = new MemoryBus();
  now = 1_700_000_000_000;
  declares = [];
  const declare = bus.declareQueue.bind(bus);
  bus.declareQueue = async (queue: string, opts: QueueOptions) => {
    declares.push(queue);
    return declare(queue, opts);
  };
  publisher = new NodePublisher({ bus, logger, now: () => now });
});

afterEach(async () => {
  vi.useRealTimers();
  await bus.close();
});

/** What each node's queue holds, drained: node → messages (body as text, headers). */
async function drain(
  ...nodes: string[]
): Promise<Map<string, Array<{ body: string; headers: BusMessage["headers"] }>>> {
  const out = new Map<string, Array<{ body: string; headers: BusMessage["headers"] }>>();
  for (const node of nodes) {
    const got: Array<{ body: string; headers: BusMessage["headers"] }> = [];
    const consumer = await bus.consume(deliveryQueue(node), async (msg) => {
      got.push({ body: new TextDecoder().decode(msg.body), headers: msg.headers });
    });
    await sleep(10);
    await consumer.stop();
    out.set(node, got);
  }
  return out;
}

const messages = (entries: Record<string, NodeMessage>) => new Map(Object.entries(entries));

describe("NodePublisher", () => {
  it("publishes one body per node to that node's queue, declaring it, with the node's own headers", async () => {
    const failed = await publisher.publish(
      messages({
        n1: { body: text("one"), headers: { traceparent: "00-aa-bb-01" } },
        n2: { body: text("two") },
      }),
    );
    expect(failed.size).toBe(0);
    expect(declares.sort()).toEqual([deliveryQueue("n1"), deliveryQueue("n2")]);
    // Declared as the gateways declare them: the memory bus refuses a redeclare with other options.
    await expect(bus.declareQueue(deliveryQueue("n1"), { durable: true })).rejects.toThrow(/other options/);
    const got = await drain("n1", "n2");
    expect(got.get("n1")).toEqual([{ body: "one", headers: { traceparent: "00-aa-bb-01" } }]);
    expect(got.get("n2")).toEqual([{ body: "two", headers: {} }]);
  });

  it("reports a failing node with its error and still publishes to the others, without waiting on a slow one", async () => {
    const publish = bus.publish.bind(bus);
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    bus.publish = async (queue, body, headers) => {
      if (queue === deliveryQueue("bad")) throw new Error("broker refused");
      if (queue === deliveryQueue("slow")) await slow;
      return publish(queue, body, headers);
    };
    const result = publisher.publish(
      messages({ bad: { body: text("x") }, slow: { body: text("s") }, ok: { body: text("o") } }),
    );
    // "ok" is on the bus while "slow" is still under way.
    await vi.waitFor(async () => expect((await bus.depth(deliveryQueue("ok"))).ready).toBe(1));
    release();
    const failed = await result;
    expect([...failed.keys()]).toEqual(["bad"]);
    expect(String(failed.get("bad"))).toContain("broker refused");
    const got = await drain("ok", "slow");
    expect(got.get("ok")?.map((m) => m.body)).toEqual(["o"]);
    expect(got.get("slow")?.map((m) => m.body)).toEqual(["s"]);
  });

  it("never rejects: a node whose queue cannot be declared is reported like a failed publish", async () => {
    const declare = bus.declareQueue.bind(bus);
    bus.declareQueue = async (queue, opts) => {
      if (queue === deliveryQueue("bad")) throw new Error("declare refused (406)");
      return declare(queue, opts);
    };
    const failed = await publisher.publish(messages({ bad: { body: text("x") }, ok: { body: text("o") } }));
    expect([...failed.keys()]).toEqual(["bad"]);
    expect(String(failed.get("bad"))).toContain("declare refused");
    expect((await drain("ok")).get("ok")?.map((m) => m.body)).toEqual(["o"]);
  });

  it("declares a queue once per half expiry, and again after a failure", async () => {
    await publisher.publish(messages({ n1: { body: text("1") } }));
    now += EXPIRES_MS / 2 - 1;
    await publisher.publish(messages({ n1: { body: text("2") } }));
    expect(declares).toEqual([deliveryQueue("n1")]);
    now += 1;
    await publisher.publish(messages({ n1: { body: text("3") } }));
    expect(declares).toEqual([deliveryQueue("n1"), deliveryQueue("n1")]);

    const publish = bus.publish.bind(bus);
    bus.publish = async () => {
      throw new Error("broker gone");
    };
    const failed = await publisher.publish(messages({ n1: { body: text("4") } }));
    expect(String(failed.get("n1"))).toContain("broker gone");
    expect(declares).toHaveLength(3); // the retry declared again
    bus.publish = publish;
    await publisher.publish(messages({ n1: { body: text("5") } }));
    expect(declares).toHaveLength(4); // a failed node is declared before its next publish
    expect((await drain("n1")).get("n1")?.map((m) => m.body)).toEqual(["1", "2", "3", "5"]);
  });

  it("declares a queue that expired since it was declared here and publishes again, once", async () => {
    vi.useFakeTimers();
    await publisher.publish(messages({ n1: { body: text("before") } }));
    // Nobody consumes: the queue (and what it held) is gone after its expiry, while this
    // publisher's clock (`now`) still counts it as declared.
    vi.advanceTimersByTime(EXPIRES_MS + 1);
    await expect(bus.depth(deliveryQueue("n1"))).rejects.toThrow(/not declared/);
    const failed = await publisher.publish(messages({ n1: { body: text("after") } }));
    expect(failed.size).toBe(0);
    expect(declares).toEqual([deliveryQueue("n1"), deliveryQueue("n1")]);
    vi.useRealTimers();
    expect((await drain("n1")).get("n1")?.map((m) => m.body)).toEqual(["after"]);
  });
});
