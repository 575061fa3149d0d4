import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../lib/metrics/index.js";
import { GatewayMetrics } from "./gateway-metrics.js";

const setup = () => {
  const registry = createMetricsRegistry({ role: "gateway", nodeId: "n", processMetrics: false });
  return { registry, metrics: new GatewayMetrics(registry) };
};

/** Series of `name` as `labels → value`. */
async function series(metrics: GatewayMetrics, name: "framesIn" | "framesOut" | "bytesInTotal" | "errors") {
  const { values } = await metrics[name].get();
  return Object.fromEntries(values.map((v) => [JSON.stringify(v.labels), v.value]));
}

describe("GatewayMetrics per-frame counters", () => {
  it("count frames by transport and command, every non-protocol command as unknown", async () => {
    const { metrics } = setup();
    for (let i = 0; i < 3; i++) metrics.frameIn("ws", 1103);
    metrics.frameIn("tcp", 1103);
    for (const odd of [0, 123_456, -7, 2 ** 31 - 1]) metrics.frameIn("ws", odd);
    metrics.frameOut("ws", 9006);
    expect(await series(metrics, "framesIn")).toEqual({
      '{"transport":"ws","command":"1103"}': 3,
      '{"transport":"tcp","command":"1103"}': 1,
      '{"transport":"ws","command":"unknown"}': 4,
    });
    expect(await series(metrics, "framesOut")).toEqual({ '{"transport":"ws","command":"9006"}': 1 });
  });

  it("count bytes and error kinds, and show them in the registry's text", async () => {
    const { registry, metrics } = setup();
    metrics.bytesIn("tcp", 100);
    metrics.bytesIn("tcp", 28);
    metrics.error("from-mismatch");
    metrics.error("from-mismatch");
    metrics.error("before-login");
    expect(await series(metrics, "bytesInTotal")).toEqual({ '{"transport":"tcp"}': 128 });
    const text = await registry.metrics();
    expect(text).toContain('whaleshark_gateway_errors_total{kind="from-mismatch",role="gateway",node="n"} 2');
    expect(text).toContain('whaleshark_gateway_errors_total{kind="before-login",role="gateway",node="n"} 1');
    metrics.error("from-mismatch");
    expect(await series(metrics, "errors")).toMatchObject({ '{"kind":"from-mismatch"}': 3 });
  });
});
