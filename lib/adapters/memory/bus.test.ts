import { describe, expect, it } from "vitest";
import { busContract } from "../../ports/bus.contract.js";
import { MemoryBus } from "./bus.js";

busContract("memory", async () => {
  const bus = new MemoryBus();
  return { bus, cleanup: () => bus.close() };
});

// Memory only: the performance promise of the embedded profile and its in-process limits.
describe("MemoryBus", () => {
  it("moves a large backlog fast without starving the event loop", async () => {
    const bus = new MemoryBus();
    await bus.declareQueue("bulk", { durable: true });
    const total = 50_000;
    let received = 0;
    let timerTicks = 0;
    const ticker = setInterval(() => timerTicks++, 1);
    for (let i = 0; i < total; i++) await bus.publish("bulk", new Uint8Array(64));
    const started = performance.now();
    await bus.consume(
      "bulk",
      async () => {
        received++;
      },
      { prefetch: 1 },
    );
    while (received < total) await new Promise((r) => setTimeout(r, 1));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(ticker);
    expect(total / seconds).toBeGreaterThan(20_000);
    expect(timerTicks).toBeGreaterThan(0); // timers ran while the backlog drained
    await bus.close();
  });

  it("refuses a redeclare with other options, as RabbitMQ does", async () => {
    const bus = new MemoryBus();
    await bus.declareQueue("q", { durable: true });
    await expect(bus.declareQueue("q", { durable: false })).rejects.toThrow(/other options/);
    await bus.close();
  });

  it("copies the published body, so the caller may reuse its buffer", async () => {
    const bus = new MemoryBus();
    await bus.declareQueue("q", { durable: true });
    const buf = new Uint8Array([1, 2, 3]);
    await bus.publish("q", buf);
    buf[0] = 9;
    const got: number[][] = [];
    await bus.consume("q", async (msg) => {
      got.push([...msg.body]);
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([[1, 2, 3]]);
    await bus.close();
  });

  it("rejects nonsense consumer options", async () => {
    const bus = new MemoryBus();
    await bus.declareQueue("q", { durable: true });
    await expect(bus.consume("q", async () => {}, { prefetch: 0 })).rejects.toThrow(RangeError);
    await bus.close();
  });
});
