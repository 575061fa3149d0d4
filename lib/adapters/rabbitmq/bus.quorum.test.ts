import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { busContract } from "../../ports/bus.contract.js";
import { createTestQueuePrefix } from "../../testing/rabbitmq.js";
import { RabbitMqBus } from "./bus.js";
import { connectAmqp, replyCode, withChannel } from "./connection.js";
import { QUORUM_DELIVERY_LIMIT, queueNames } from "./topology.js";

const logger = pino({ level: "silent" });

// The whole bus contract again, every queue a quorum queue (amqp.queueType: quorum).
busContract("rabbitmq quorum queues", async () => {
  const space = createTestQueuePrefix();
  const bus = await RabbitMqBus.connect({
    url: space.url,
    prefix: space.prefix,
    logger,
    queueType: "quorum",
  });
  return {
    bus,
    async cleanup() {
      await bus.close();
      await space.cleanup(bus.createdQueues());
    },
    // RabbitMQ 3.10 deletes an expired quorum queue at its next tick (quorum_tick_interval, 5 s).
    expiryGraceMs: 6_000,
  };
});

const text = (s: string) => new TextEncoder().encode(s);

/** A bus of the given type on a prefix of its own, and a raw connection to look at the broker. */
async function setup(queueType: "classic" | "quorum") {
  const space = createTestQueuePrefix();
  const bus = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger, queueType });
  const raw = await connectAmqp(space.url, logger);
  const others: RabbitMqBus[] = [];
  return {
    space,
    bus,
    raw,
    async another(type: "classic" | "quorum") {
      const b = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger, queueType: type });
      others.push(b);
      return b;
    },
    async cleanup() {
      for (const b of [bus, ...others]) await b.close();
      await raw.model.close();
      await space.cleanup([...bus.createdQueues(), ...others.flatMap((b) => b.createdQueues())]);
    },
  };
}

/** Redeclaring `name` as a plain classic queue: refused (406) when the broker holds it as a quorum queue. */
async function isQuorum(raw: Awaited<ReturnType<typeof connectAmqp>>, name: string): Promise<boolean> {
  try {
    await withChannel(raw, (ch) =>
      ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "classic" } }),
    );
    return false;
  } catch (err) {
    if (replyCode(err) === 406) return true;
    throw err;
  }
}

describe("RabbitMqBus with quorum queues", () => {
  it("declares the main, retry and dead queues as quorum queues, a non-durable (delivery) queue too", async () => {
    const t = await setup("quorum");
    try {
      await t.bus.declareQueue("jobs", { durable: true });
      await t.bus.declareQueue("deliver.n1", { durable: false, expiresMs: 60_000 });
      for (const queue of ["jobs", "deliver.n1"]) {
        const names = queueNames(t.space.prefix, queue);
        for (const name of [names.main, names.retry, names.dead])
          expect(await isQuorum(t.raw, name), name).toBe(true);
      }
    } finally {
      await t.cleanup();
    }
  });

  it("keeps classic queues classic by default", async () => {
    const t = await setup("classic");
    try {
      await t.bus.declareQueue("jobs", { durable: true });
      expect(await isQuorum(t.raw, queueNames(t.space.prefix, "jobs").main)).toBe(false);
    } finally {
      await t.cleanup();
    }
  });

  it("refuses to redeclare a queue with the other type, naming the setting", async () => {
    const t = await setup("classic");
    try {
      await t.bus.declareQueue("jobs", { durable: true });
      const quorum = await t.another("quorum");
      await expect(quorum.declareQueue("jobs", { durable: true })).rejects.toThrow(
        /already declared with other options \(amqp\.queueType is quorum/,
      );
    } finally {
      await t.cleanup();
    }
  });

  it(`dead-letters a message redelivered more than ${QUORUM_DELIVERY_LIMIT} times (a consumer crash loop), where it is kept`, async () => {
    const t = await setup("quorum");
    try {
      await t.bus.declareQueue("jobs", { durable: true });
      await t.bus.publish("jobs", text("poison"), { kind: "p" });
      const names = queueNames(t.space.prefix, "jobs");
      // Each get + requeue is what a consumer dying with the message unacked does to it.
      await withChannel(t.raw, async (ch) => {
        for (let i = 0; i <= QUORUM_DELIVERY_LIMIT; i++) {
          const msg = await ch.get(names.main, { noAck: false });
          expect(msg, `delivery ${i + 1}`).not.toBe(false);
          if (msg !== false) ch.nack(msg, false, true);
        }
      });
      const deadline = Date.now() + 5_000;
      let depth = await t.bus.depth("jobs");
      while (depth.dead === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        depth = await t.bus.depth("jobs");
      }
      expect(depth).toEqual({ ready: 0, dead: 1 });
      // Replayed like any dead letter, with the publisher's headers only.
      expect(await t.bus.replayDeadLetters("jobs")).toBe(1);
      const got: Array<{ body: string; headers: Record<string, string>; attempt: number }> = [];
      const consumer = await t.bus.consume("jobs", async (msg) => {
        got.push({ body: new TextDecoder().decode(msg.body), headers: msg.headers, attempt: msg.attempt });
      });
      while (got.length === 0 && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 20));
      await consumer.stop();
      expect(got).toEqual([{ body: "poison", headers: { kind: "p" }, attempt: 1 }]);
    } finally {
      await t.cleanup();
    }
  });
});
