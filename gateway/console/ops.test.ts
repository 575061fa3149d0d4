import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { OpsSampler, quantiles } from "./ops.js";

describe("OpsSampler", () => {
  it("computes connections, messages/s over the time between reads, and delivery-lag quantiles", async () => {
    const registry = new Registry();
    const connections = new Gauge({
      name: "whaleshark_gateway_connections",
      help: "x",
      labelNames: ["transport"],
      registers: [registry],
    });
    const frames = new Counter({
      name: "whaleshark_gateway_frames_in_total",
      help: "x",
      labelNames: ["transport", "command"],
      registers: [registry],
    });
    const lag = new Histogram({
      name: "whaleshark_gateway_delivery_lag_seconds",
      help: "x",
      buckets: [0.001, 0.01, 0.1, 1],
      registers: [registry],
    });
    let now = 1_000_000;
    const ops = new OpsSampler(registry, () => now);
    connections.labels({ transport: "tcp" }).set(2);
    connections.labels({ transport: "ws" }).set(5);
    frames.labels({ transport: "ws", command: "1103" }).inc(100);
    const first = await ops.read();
    expect(first).toEqual({ connections: 7, messagesPerSecond: 0, deliveryLagMs: null, at: 1_000_000 });

    now += 2000;
    frames.labels({ transport: "ws", command: "1103" }).inc(30);
    frames.labels({ transport: "tcp", command: "2104" }).inc(10);
    frames.labels({ transport: "tcp", command: "9999" }).inc(500); // pings are not messages
    for (let i = 0; i < 99; i++) lag.observe(0.005);
    lag.observe(0.5);
    const second = await ops.read();
    expect(second.messagesPerSecond).toBe(20);
    expect(second.deliveryLagMs?.p50).toBeGreaterThan(1);
    expect(second.deliveryLagMs?.p50).toBeLessThanOrEqual(10);
    expect(second.deliveryLagMs?.p99).toBeLessThanOrEqual(10);

    // A read within a second of the last keeps the last rate instead of dividing by ~0.
    now += 10;
    frames.labels({ transport: "ws", command: "1103" }).inc(1000);
    expect((await ops.read()).messagesPerSecond).toBe(20);
  });

  it("interpolates quantiles inside buckets like histogram_quantile", () => {
    const q = quantiles(
      new Map([
        [0.01, 50],
        [0.1, 100],
        [Number.POSITIVE_INFINITY, 100],
      ]),
    );
    expect(q.p50).toBe(10);
    expect(q.p99).toBeCloseTo(98.2, 1);
    expect(quantiles(new Map([[Number.POSITIVE_INFINITY, 0]]))).toEqual({ p50: 0, p99: 0 });
  });
});
