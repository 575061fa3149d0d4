import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bus, BusMessage } from "./bus.js";

/** What a bus adapter's test hands the suite: a fresh bus whose queues no other test sees. */
export interface BusFixture {
  bus: Bus;
  /** Closes the bus (if the test did not) and deletes every queue the test created. */
  cleanup(): Promise<void>;
  /**
   * How much later than `expiresMs` the broker may delete an unused queue (default 0). RabbitMQ's
   * quorum queues check their expiry on a periodic tick (5 s), classic queues on time.
   */
  expiryGraceMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Polls `check` until it holds (or fails the test after `timeoutMs`). */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** A promise with its resolver, to hold a handler open. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * The semantics of `Bus` (lib/ports/bus.ts), registered as one vitest
 * `describe`, run against every adapter (docs/style.md §5). Queue names are
 * logical; the fixture's bus gives them a prefix of its own per test.
 */
export function busContract(name: string, factory: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fixture: BusFixture;
    let bus: Bus;
    beforeEach(async () => {
      fixture = await factory();
      bus = fixture.bus;
      await bus.declareQueue("jobs", { durable: true });
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("delivers a published message with its body, headers and attempt 1", async () => {
      const got: BusMessage[] = [];
      await bus.consume("jobs", async (msg) => {
        got.push(msg);
      });
      await bus.publish("jobs", text("hello"), { kind: "greeting" });
      await until(() => got.length === 1);
      expect(got[0]!.queue).toBe("jobs");
      expect(str(got[0]!.body)).toBe("hello");
      expect(got[0]!.headers).toEqual({ kind: "greeting" });
      expect(got[0]!.attempt).toBe(1);
    });

    it("holds a message once publish resolves, while nobody consumes", async () => {
      await bus.publish("jobs", text("a"));
      await bus.publish("jobs", text("b"));
      expect(await bus.depth("jobs")).toEqual({ ready: 2, dead: 0 });
    });

    it("acks a message whose handler resolves: it is not delivered again", async () => {
      let calls = 0;
      const consumer = await bus.consume("jobs", async () => {
        calls++;
      });
      await bus.publish("jobs", text("once"));
      await until(() => calls === 1);
      await consumer.stop();
      await sleep(50);
      expect(calls).toBe(1);
      expect(await bus.depth("jobs")).toEqual({ ready: 0, dead: 0 });
    });

    it("retries a failed message with a growing attempt counter and doubling backoff", async () => {
      const seen: { attempt: number; at: number; body: string; headers: Record<string, string> }[] = [];
      await bus.consume(
        "jobs",
        async (msg) => {
          seen.push({ attempt: msg.attempt, at: Date.now(), body: str(msg.body), headers: msg.headers });
          if (msg.attempt < 3) throw new Error(`fail ${msg.attempt}`);
        },
        { retryDelayMs: 40, maxAttempts: 5 },
      );
      await bus.publish("jobs", text("flaky"), { id: "7" });
      await until(() => seen.length === 3);
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      expect(seen.every((s) => s.body === "flaky" && s.headers.id === "7")).toBe(true);
      const [first, second, third] = seen as [(typeof seen)[0], (typeof seen)[0], (typeof seen)[0]];
      expect(second.at - first.at).toBeGreaterThanOrEqual(35); // retryDelayMs, some timer slack
      expect(third.at - second.at).toBeGreaterThanOrEqual(75); // doubled
      await sleep(50);
      expect(seen).toHaveLength(3);
      expect(await bus.depth("jobs")).toEqual({ ready: 0, dead: 0 });
    });

    it("dead-letters a message after maxAttempts and counts it", async () => {
      const attempts: number[] = [];
      await bus.consume(
        "jobs",
        async (msg) => {
          attempts.push(msg.attempt);
          throw new Error("always");
        },
        { retryDelayMs: 5, maxAttempts: 3 },
      );
      await bus.publish("jobs", text("poison"));
      await until(async () => (await bus.depth("jobs")).dead === 1);
      expect(attempts).toEqual([1, 2, 3]);
      expect(await bus.depth("jobs")).toEqual({ ready: 0, dead: 1 });
    });

    it("replays dead letters back onto the queue with the attempt reset", async () => {
      const poison = await bus.consume(
        "jobs",
        async () => {
          throw new Error("always");
        },
        { retryDelayMs: 5, maxAttempts: 1 },
      );
      await bus.publish("jobs", text("p1"), { n: "1" });
      await bus.publish("jobs", text("p2"), { n: "2" });
      await until(async () => (await bus.depth("jobs")).dead === 2);
      await poison.stop();
      expect(await bus.replayDeadLetters("jobs")).toBe(2);
      expect(await bus.depth("jobs")).toEqual({ ready: 2, dead: 0 });
      const got: BusMessage[] = [];
      await bus.consume("jobs", async (msg) => {
        got.push(msg);
      });
      await until(() => got.length === 2);
      expect(got.map((m) => [str(m.body), m.headers, m.attempt])).toEqual([
        ["p1", { n: "1" }, 1],
        ["p2", { n: "2" }, 1],
      ]);
      expect(await bus.replayDeadLetters("jobs")).toBe(0);
    });

    it("never runs more than prefetch handlers at once", async () => {
      let running = 0;
      let peak = 0;
      let done = 0;
      await bus.consume(
        "jobs",
        async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(15);
          running--;
          done++;
        },
        { prefetch: 3 },
      );
      await Promise.all(Array.from({ length: 15 }, (_, i) => bus.publish("jobs", text(String(i)))));
      await until(() => done === 15);
      expect(peak).toBe(3);
    });

    it("shares messages between competing consumers, each delivered once", async () => {
      const byConsumer: string[][] = [[], []];
      for (const seen of byConsumer) {
        await bus.consume("jobs", async (msg) => {
          seen.push(str(msg.body));
          await sleep(2);
        });
      }
      const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (const body of sent) await bus.publish("jobs", text(body));
      await until(() => byConsumer[0]!.length + byConsumer[1]!.length === 40);
      await sleep(30);
      const all = [...byConsumer[0]!, ...byConsumer[1]!];
      expect(all.sort()).toEqual([...sent].sort());
      expect(byConsumer[0]!.length).toBeGreaterThan(0);
      expect(byConsumer[1]!.length).toBeGreaterThan(0);
    });

    it("keeps publish order for one consumer with prefetch 1", async () => {
      const got: number[] = [];
      await bus.consume("jobs", async (msg) => {
        got.push(Number(str(msg.body)));
      });
      const sent = Array.from({ length: 50 }, (_, i) => i);
      await Promise.all(sent.map((i) => bus.publish("jobs", text(String(i)))));
      await until(() => got.length === 50);
      expect(got).toEqual(sent);
    });

    it("round-trips binary bodies and string headers; reserved x- headers are refused", async () => {
      const body = new Uint8Array([0, 255, 1, 128, 10]);
      const headers = { traceId: "abc-123", unicode: "é🐋", empty: "" };
      const got: BusMessage[] = [];
      await bus.consume("jobs", async (msg) => {
        got.push(msg);
      });
      await bus.publish("jobs", body, headers);
      await bus.publish("jobs", new Uint8Array(0));
      await until(() => got.length === 2);
      expect([...got[0]!.body]).toEqual([...body]);
      expect(got[0]!.headers).toEqual(headers);
      expect(got[1]!.body.length).toBe(0);
      expect(got[1]!.headers).toEqual({});
      await expect(bus.publish("jobs", body, { "x-attempt": "9" })).rejects.toThrow(/reserved/);
    });

    it("stop() stops taking messages and waits for in-flight handlers", async () => {
      const hold = gate();
      let started = 0;
      let finished = 0;
      const consumer = await bus.consume(
        "jobs",
        async () => {
          started++;
          await hold.promise;
          finished++;
        },
        { prefetch: 1 },
      );
      await bus.publish("jobs", text("1"));
      await bus.publish("jobs", text("2"));
      await until(() => started === 1);
      let stopped = false;
      const stopping = consumer.stop().then(() => {
        stopped = true;
      });
      await sleep(50);
      expect(stopped).toBe(false);
      hold.open();
      await stopping;
      expect(finished).toBe(1);
      expect(started).toBe(1);
      expect(await bus.depth("jobs")).toEqual({ ready: 1, dead: 0 });
    });

    it("redelivers a message whose consumer stopped without settling it", async () => {
      const hold = gate();
      const first: BusMessage[] = [];
      const stuck = await bus.consume(
        "jobs",
        async (msg) => {
          first.push(msg);
          await hold.promise;
        },
        { drainTimeoutMs: 50 },
      );
      await bus.publish("jobs", text("orphan"), { id: "1" });
      await until(() => first.length === 1);
      const second: BusMessage[] = [];
      await bus.consume("jobs", async (msg) => {
        second.push(msg);
      });
      await stuck.stop(); // gives up after drainTimeoutMs
      await until(() => second.length === 1);
      expect(str(second[0]!.body)).toBe("orphan");
      expect(second[0]!.headers).toEqual({ id: "1" });
      expect(second[0]!.attempt).toBe(1);
      hold.open(); // the late outcome is ignored
      await sleep(50);
      expect(second).toHaveLength(1);
      expect(await bus.depth("jobs")).toEqual({ ready: 0, dead: 0 });
    });

    it("rejects publish, consume and depth on an undeclared queue, naming it", async () => {
      await expect(bus.publish("nowhere", text("x"))).rejects.toThrow(/nowhere/);
      await expect(bus.consume("nowhere", async () => {})).rejects.toThrow(/nowhere/);
      await expect(bus.depth("nowhere")).rejects.toThrow(/nowhere/);
    });

    it("declares idempotently: a second declare keeps the messages", async () => {
      await bus.publish("jobs", text("kept"));
      await bus.declareQueue("jobs", { durable: true });
      expect(await bus.depth("jobs")).toEqual({ ready: 1, dead: 0 });
    });

    it("serves a non-durable expiring queue, and deletes it once unused for expiresMs", async () => {
      await bus.declareQueue("node-a", { durable: false, expiresMs: 300 });
      const got: string[] = [];
      const consumer = await bus.consume("node-a", async (msg) => {
        got.push(str(msg.body));
      });
      await bus.publish("node-a", text("live"));
      await until(() => got.length === 1);
      await sleep(400); // a consumer keeps the queue alive
      await bus.publish("node-a", text("still"));
      await until(() => got.length === 2);
      await consumer.stop();
      let refused: unknown;
      await until(
        () =>
          bus.publish("node-a", text("late")).then(
            () => false,
            (err: unknown) => {
              refused = err;
              return true;
            },
          ),
        800 + (fixture.expiryGraceMs ?? 0),
      );
      expect(String(refused)).toMatch(/node-a/);
    });

    it("close() stops the consumers and then rejects every call", async () => {
      const hold = gate();
      let finished = 0;
      await bus.consume("jobs", async () => {
        await hold.promise;
        finished++;
      });
      await bus.publish("jobs", text("x"));
      await sleep(30);
      const closing = bus.close();
      hold.open();
      await closing;
      expect(finished).toBe(1);
      await expect(bus.publish("jobs", text("y"))).rejects.toThrow();
      await expect(bus.depth("jobs")).rejects.toThrow();
      await bus.close(); // idempotent
    });
  });
}
