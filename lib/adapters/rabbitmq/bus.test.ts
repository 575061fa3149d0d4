import { execFileSync } from "node:child_process";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { busContract } from "../../ports/bus.contract.js";
import { createTestQueuePrefix, testAmqpUrl } from "../../testing/rabbitmq.js";
import { RabbitMqBus } from "./bus.js";
import { connectAmqp, withChannel } from "./connection.js";
import { deleteQueues } from "./topology.js";

const logger = pino({ level: "silent" });

busContract("rabbitmq", async () => {
  const space = createTestQueuePrefix();
  const bus = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
  return {
    bus,
    async cleanup() {
      await bus.close();
      await space.cleanup(bus.createdQueues());
    },
  };
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const text = (s: string) => new TextEncoder().encode(s);

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

/** Two buses (two connections) sharing one queue prefix, as two processes would. */
async function twoBuses() {
  const space = createTestQueuePrefix();
  const a = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
  const b = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
  return {
    a,
    b,
    async cleanup() {
      await a.close();
      await b.close();
      await space.cleanup([...a.createdQueues(), ...b.createdQueues()]);
    },
  };
}

// RabbitMQ only: broker-side behaviour the memory bus cannot have (connections, other processes, the layout).
describe("RabbitMqBus", () => {
  it("rejects connect with an error naming the broker without its password", async () => {
    const attempt = RabbitMqBus.connect({ url: "amqp://guest:hunter2@127.0.0.1:1", prefix: "x", logger });
    await expect(attempt).rejects.toThrow(
      /amqp broker at amqp:\/\/guest:\[redacted\]@127\.0\.0\.1:1 unreachable/,
    );
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it("redelivers an unacked message to another process's consumer when its connection closes", async () => {
    const t = await twoBuses();
    try {
      await t.a.declareQueue("jobs", { durable: true });
      const stuck: string[] = [];
      await t.a.consume(
        "jobs",
        async (msg) => {
          stuck.push(new TextDecoder().decode(msg.body));
          await new Promise(() => {}); // never settles: the process "hangs"
        },
        { drainTimeoutMs: 20 },
      );
      await t.b.publish("jobs", text("orphan"));
      await until(() => stuck.length === 1);
      const rescued: { body: string; attempt: number }[] = [];
      await t.b.consume("jobs", async (msg) => {
        rescued.push({ body: new TextDecoder().decode(msg.body), attempt: msg.attempt });
      });
      await t.a.close(); // drain gives up after 20 ms, the channel closes unacked
      await until(() => rescued.length === 1);
      expect(rescued).toEqual([{ body: "orphan", attempt: 1 }]);
      expect(await t.b.depth("jobs")).toEqual({ ready: 0, dead: 0 });
    } finally {
      await t.cleanup();
    }
  });

  it("lays out Q, Q.retry and Q.dead, and keeps the attempt and last error on a dead letter", async () => {
    const space = createTestQueuePrefix();
    const bus = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
    try {
      await bus.declareQueue("jobs", { durable: true });
      expect(bus.createdQueues().sort()).toEqual(
        [`${space.prefix}.jobs`, `${space.prefix}.jobs.dead`, `${space.prefix}.jobs.retry`].sort(),
      );
      await bus.consume(
        "jobs",
        async () => {
          throw new Error(`boom ${"x".repeat(2000)}`);
        },
        { maxAttempts: 2, retryDelayMs: 5 },
      );
      await bus.publish("jobs", text("poison"), { id: "9" });
      await until(async () => (await bus.depth("jobs")).dead === 1);
      const raw = await connectAmqp(space.url, logger);
      try {
        const dead = await withChannel(raw, async (ch) => {
          const msg = await ch.get(`${space.prefix}.jobs.dead`, { noAck: false });
          if (msg === false) throw new Error("no dead letter");
          ch.nack(msg, false, true);
          return msg;
        });
        const headers = dead.properties.headers as Record<string, unknown>;
        expect(headers.id).toBe("9");
        expect(headers["x-attempt"]).toBe(2);
        expect(String(headers["x-last-error"])).toMatch(/^boom x+…$/);
        expect(String(headers["x-last-error"]).length).toBeLessThan(600);
        expect(dead.properties.deliveryMode).toBe(2); // persistent
      } finally {
        await raw.model.close();
      }
    } finally {
      await bus.close();
      await space.cleanup(bus.createdQueues());
    }
  });

  it("publishes to a queue another process declared, and rejects once it is deleted", async () => {
    const t = await twoBuses();
    try {
      await t.a.declareQueue("deliver.node-1", { durable: false, expiresMs: 60_000 });
      await t.b.publish("deliver.node-1", text("x"));
      expect((await t.a.depth("deliver.node-1")).ready).toBe(1);
      const raw = await connectAmqp(testAmqpUrl, logger);
      await deleteQueues(raw, t.a.createdQueues());
      await raw.model.close();
      await expect(t.b.publish("deliver.node-1", text("y"))).rejects.toThrow(
        /deliver\.node-1 is not declared/,
      );
    } finally {
      await t.cleanup();
    }
  });

  it("resumes a consumer whose queue was deleted under it, redeclaring what this process declared", async () => {
    const space = createTestQueuePrefix();
    const bus = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
    try {
      await bus.declareQueue("jobs", { durable: true });
      const got: string[] = [];
      await bus.consume("jobs", async (msg) => {
        got.push(new TextDecoder().decode(msg.body));
      });
      const raw = await connectAmqp(space.url, logger);
      await deleteQueues(raw, [`${space.prefix}.jobs`]); // the broker cancels the consumer
      await raw.model.close();
      await until(async () => (await bus.depth("jobs").catch(() => undefined)) !== undefined);
      await bus.publish("jobs", text("after"));
      await until(() => got.length === 1);
      expect(got).toEqual(["after"]);
    } finally {
      await bus.close();
      await space.cleanup(bus.createdQueues());
    }
  });

  it.skipIf(!hasRabbitmqctl())(
    "reconnects after the broker closes the connection, and the consumer carries on",
    async () => {
      const space = createTestQueuePrefix();
      const bus = await RabbitMqBus.connect({ url: space.url, prefix: space.prefix, logger });
      try {
        await bus.declareQueue("jobs", { durable: true });
        const got: string[] = [];
        await bus.consume("jobs", async (msg) => {
          got.push(new TextDecoder().decode(msg.body));
        });
        await bus.publish("jobs", text("before"));
        await until(() => got.length === 1);
        closeConnectionOnBroker(bus.connectionName());
        await until(async () => {
          try {
            await bus.publish("jobs", text("after"));
            return true;
          } catch {
            return false; // while reconnecting
          }
        });
        await until(() => got.includes("after"));
        expect(got[0]).toBe("before");
      } finally {
        await bus.close();
        await space.cleanup(bus.createdQueues());
      }
    },
  );
});

function hasRabbitmqctl(): boolean {
  try {
    execFileSync("rabbitmqctl", ["-q", "list_connections", "--no-table-headers", "pid"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Closes, on the broker, the connection whose client named itself `name` (only ours). */
function closeConnectionOnBroker(name: string): void {
  const rows = execFileSync(
    "rabbitmqctl",
    ["-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
    {
      encoding: "utf8",
    },
  ).split("\n");
  const row = rows.find((line) => line.includes(`{"connection_name","${name}"}`));
  if (row === undefined) throw new Error(`connection ${name} not found on the broker`);
  execFileSync("rabbitmqctl", [
    "-q",
    "close_connection",
    row.split("\t")[0]!,
    "test: simulated connection loss",
  ]);
}
