import { describe, expect, it } from "vitest";
import { HotCounter } from "./hot-counter.js";
import { createMetricsRegistry } from "./registry.js";

const registry = () => createMetricsRegistry({ role: "gateway", nodeId: "n1", processMetrics: false });

describe("HotCounter", () => {
  it("shows plain-number counts on every scrape, exactly once", async () => {
    const r = registry();
    const c = new HotCounter({ name: "hot_frames_total", help: "t", labelNames: ["kind"], registers: [r] });
    const ws = c.count({ kind: "ws" });
    const tcp = c.count({ kind: "tcp" });
    ws.n += 3;
    tcp.n += 1;
    expect(await r.metrics()).toContain('hot_frames_total{kind="ws",role="gateway",node="n1"} 3');
    // A second scrape without new counts shows the same totals (nothing added twice).
    expect(await r.metrics()).toContain('hot_frames_total{kind="ws",role="gateway",node="n1"} 3');
    ws.n += 2;
    const text = await r.metrics();
    expect(text).toContain('hot_frames_total{kind="ws",role="gateway",node="n1"} 5');
    expect(text).toContain('hot_frames_total{kind="tcp",role="gateway",node="n1"} 1');
  });

  it("adds to the series a direct inc() touches, and leaves unused label sets absent", async () => {
    const r = registry();
    const c = new HotCounter({ name: "hot_mixed_total", help: "t", labelNames: ["kind"], registers: [r] });
    const a = c.count({ kind: "a" });
    c.count({ kind: "never" });
    c.counter.inc({ kind: "a" }, 10);
    a.n += 1;
    const { values } = await c.counter.get();
    expect(values.map((v) => [v.labels.kind, v.value])).toEqual([["a", 11]]);
  });

  it("refuses a label the counter does not have", () => {
    const c = new HotCounter({
      name: "hot_bad_total",
      help: "t",
      labelNames: ["kind"],
      registers: [registry()],
    });
    expect(() => c.count({ other: "x" } as never)).toThrowError(/unknown label other/);
  });
});
