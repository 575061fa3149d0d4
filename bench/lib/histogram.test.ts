import { describe, expect, it } from "vitest";
import { Histogram } from "./histogram.js";

describe("Histogram", () => {
  it("reports exact small values and percentiles within 1/64 for large ones", () => {
    const h = new Histogram();
    for (let i = 1; i <= 10_000; i++) h.recordMs(i / 10); // 0.1 ms … 1000 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.maxMs).toBe(1000);
    for (const [q, want] of [
      [0.5, 500],
      [0.9, 900],
      [0.99, 990],
    ] as const) {
      const got = h.quantileMs(q);
      expect(Math.abs(got - want) / want).toBeLessThan(1 / 64);
    }
    expect(s.meanMs).toBeCloseTo(500.05, 1);
  });

  it("keeps microsecond values below 128 µs exact", () => {
    const h = new Histogram();
    h.recordMs(0.05);
    h.recordMs(0.1);
    expect(h.quantileMs(0.5)).toBe(0.05);
    expect(h.quantileMs(1)).toBe(0.1);
  });

  it("merges through its transferable form without losing anything", () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(100);
    const merged = Histogram.from(JSON.parse(JSON.stringify(a.toData())));
    merged.merge(b.toData());
    expect(merged.count).toBe(200);
    expect(merged.quantileMs(0.25)).toBeCloseTo(1, 1);
    expect(merged.quantileMs(0.99)).toBeGreaterThan(98);
    expect(merged.summary().maxMs).toBe(100);
  });

  it("summarises an empty histogram as zeros", () => {
    expect(new Histogram().summary()).toEqual({
      count: 0,
      meanMs: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
    });
  });
});
