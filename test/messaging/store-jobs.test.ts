import { describe, expect, it } from "vitest";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import type { Bus, BusMessage } from "../../lib/ports/bus.js";
import { STORE_QUEUES } from "../../lib/queues/store-queues.js";
import { GROUP, P2P } from "../../lib/wire/conversation-type.js";
import type { ChatMessage } from "../../services/domain/messaging/chat-message.js";
import { MAX_JOBS_PER_PUBLISH, StoreJobPublisher } from "../../services/domain/messaging/store-jobs.js";
import { decodeJobs, type StoredMessage } from "../../services/store/consumer/jobs.js";

function message(key: number, conversationType: typeof P2P | typeof GROUP = P2P): ChatMessage {
  return {
    conversationType,
    appId: 10001,
    fromId: "alice",
    toId: conversationType === P2P ? "bob" : "g1",
    messageId: `m${key}`,
    messageBody: `body ${key}`,
    messageTime: 1_700_000_000_000 + key,
    extra: "",
    messageKey: key,
    messageSequence: key,
    acceptedTime: 1_700_000_000_500 + key,
  };
}

/** The bus messages published on a store queue, as the store decodes them. */
async function collect(bus: Bus, queue: keyof typeof STORE_QUEUES): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  await bus.consume(STORE_QUEUES[queue], async (msg) => {
    got.push(msg);
  });
  return got;
}

function keysOf(kind: "p2p" | "group", msg: BusMessage): number[] {
  return decodeJobs(kind, msg.body, msg.headers.jobs === "batch").map((m) =>
    Number((m as StoredMessage).messageKey),
  );
}

describe("StoreJobPublisher", () => {
  it("publishes the jobs of one turn as one batch message per queue, in call order", async () => {
    const bus = new MemoryBus();
    const publisher = new StoreJobPublisher(bus);
    await Promise.all([publisher.publish(message(100)), publisher.publish(message(100, GROUP))]); // declares the queues
    const p2p = await collect(bus, "p2p");
    const group = await collect(bus, "group");
    await Promise.all([
      ...[1, 2, 3].map((k) => publisher.publish(message(k))),
      ...[4, 5].map((k) => publisher.publish(message(k, GROUP))),
    ]);
    await new Promise((r) => setImmediate(r));
    expect(p2p.map((m) => [m.headers, keysOf("p2p", m)])).toEqual([
      [{}, [100]], // a lone job goes out as a plain job
      [{ jobs: "batch" }, [1, 2, 3]],
    ]);
    expect(group.map((m) => keysOf("group", m))).toEqual([[100], [4, 5]]);
    await bus.close();
  });

  it("splits a turn's jobs into messages of at most MAX_JOBS_PER_PUBLISH", async () => {
    const bus = new MemoryBus();
    const publisher = new StoreJobPublisher(bus);
    await publisher.publish(message(100));
    const got = await collect(bus, "p2p");
    const keys = Array.from({ length: MAX_JOBS_PER_PUBLISH + 1 }, (_, i) => i + 1);
    await Promise.all(keys.map((k) => publisher.publish(message(k))));
    await new Promise((r) => setImmediate(r));
    expect(got.map((m) => keysOf("p2p", m).length)).toEqual([1, MAX_JOBS_PER_PUBLISH, 1]);
    expect(got.flatMap((m) => keysOf("p2p", m))).toEqual([100, ...keys]);
    await bus.close();
  });

  it("fails every send of a batch the bus did not take", async () => {
    const bus = new MemoryBus();
    const publisher = new StoreJobPublisher(bus);
    await publisher.publish(message(100));
    const refused = new Error("broker nacked");
    bus.publish = async () => {
      throw refused;
    };
    const results = await Promise.allSettled([1, 2].map((k) => publisher.publish(message(k))));
    expect(results).toEqual([
      { status: "rejected", reason: refused },
      { status: "rejected", reason: refused },
    ]);
    await bus.close();
  });
});
