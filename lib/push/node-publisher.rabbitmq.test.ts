import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RabbitMqBus } from "../adapters/rabbitmq/bus.js";
import { connectAmqp } from "../adapters/rabbitmq/connection.js";
import { deleteQueues, queueNames } from "../adapters/rabbitmq/topology.js";
import type { BusConsumer } from "../ports/bus.js";
import { DELIVERY_QUEUE_OPTIONS, deliveryQueue } from "../sessions/session-record.js";
import { createTestQueuePrefix, type TestQueuePrefix } from "../testing/rabbitmq.js";
import { NodePublisher } from "./node-publisher.js";

// RabbitMQ only: the broker's side of the queue rule (node-publisher.ts), which the memory bus
// cannot show: a queue another process (the gateway) consumes, and one deleted on the broker.

const logger = pino({ level: "silent" });
const text = (s: string) => new TextEncoder().encode(s);

let space: TestQueuePrefix;
/** The publishing process and the gateway's process: two connections, as two roles would have. */
let publishing: RabbitMqBus;
let gateway: RabbitMqBus;

beforeEach(async () => {
  space = createTestQueuePrefix();
  publishing = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
  gateway = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
});

afterEach(async () => {
  await publishing.close();
  await gateway.close();
  await space.cleanup([...publishing.createdQueues(), ...gateway.createdQueues()]);
});

/** Consumes a node's queue on the gateway's bus, collecting bodies and trace headers. */
async function listen(node: string, got: string[]): Promise<BusConsumer> {
  await gateway.declareQueue(deliveryQueue(node), DELIVERY_QUEUE_OPTIONS);
  return gateway.consume(deliveryQueue(node), async (msg) => {
    got.push(`${new TextDecoder().decode(msg.body)} ${msg.headers.traceparent ?? "-"}`);
  });
}

describe("NodePublisher on RabbitMQ", () => {
  it("reaches a gateway's queue with headers, and keeps a queue no gateway declared yet for it", async () => {
    const publisher = new NodePublisher({ bus: publishing, logger });
    const got: string[] = [];
    const consumer = await listen("n1", got);
    const failed = await publisher.publish(
      new Map([
        ["n1", { body: text("one"), headers: { traceparent: "00-aa-bb-01" } }],
        ["n2", { body: text("two") }],
      ]),
    );
    expect(failed.size).toBe(0);
    await vi.waitFor(() => expect(got).toEqual(["one 00-aa-bb-01"]));
    await consumer.stop();
    // n2's gateway has not declared its queue (it is starting): the push waits there for it.
    expect(await publishing.depth(deliveryQueue("n2"))).toEqual({ ready: 1, dead: 0 });
  });

  it("declares a queue deleted on the broker since it was declared here, and publishes again", async () => {
    const publisher = new NodePublisher({ bus: publishing, logger });
    expect((await publisher.publish(new Map([["n1", { body: text("before") }]]))).size).toBe(0);
    // As a broker restart drops a transient queue, or its expiry deletes it.
    const raw = await connectAmqp(space.url, logger);
    const names = queueNames(space.prefix, deliveryQueue("n1"));
    await deleteQueues(raw, [names.main, names.retry, names.dead]);
    await raw.model.close();
    const failed = await publisher.publish(new Map([["n1", { body: text("after") }]]));
    expect(failed.size).toBe(0);
    const got: string[] = [];
    const consumer = await listen("n1", got);
    await vi.waitFor(() => expect(got).toEqual(["after -"]));
    await consumer.stop();
  });
});
