import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { connectAmqp } from "../adapters/rabbitmq/connection.js";
import { deleteQueues } from "../adapters/rabbitmq/topology.js";

/**
 * Broker that tests use. RabbitMQ 3.10 runs on every developer machine and in
 * CI (guest/guest on 127.0.0.1); override with WHALESHARK_TEST_AMQP_URL.
 */
export const testAmqpUrl = process.env.WHALESHARK_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/** A queue-name prefix of its own for one test, and how to remove its queues. */
export interface TestQueuePrefix {
  /** `ws_test_<hex>`, unique per call; queues are named `{prefix}.{queue}`. */
  prefix: string;
  url: string;
  /** Deletes the given physical queues (what the bus reports it created), nothing else. */
  cleanup(queues: Iterable<string>): Promise<void>;
}

/**
 * A unique queue prefix on the shared test broker, so parallel runs never
 * consume each other's messages and nothing shared is deleted (docs/style.md §6).
 */
export function createTestQueuePrefix(): TestQueuePrefix {
  const prefix = `ws_test_${randomBytes(6).toString("hex")}`;
  return {
    prefix,
    url: testAmqpUrl,
    async cleanup(queues) {
      const own = [...queues].filter((q) => q.startsWith(`${prefix}.`)); // never anyone else's
      if (own.length === 0) return;
      const conn = await connectAmqp(testAmqpUrl, pino({ level: "silent" }));
      try {
        await deleteQueues(conn, own);
      } finally {
        await conn.model.close();
      }
    },
  };
}
