import { describe, expect, it } from "vitest";
import { metricValue } from "./heap-metrics.js";

describe("metricValue", () => {
  const text = [
    "# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.",
    "# TYPE nodejs_heap_size_used_bytes gauge",
    'nodejs_heap_size_used_bytes{role="gateway",node="n1"} 123456',
    "nodejs_external_memory_bytes 7.5e6",
  ].join("\n");

  it("reads a value with or without labels", () => {
    expect(metricValue(text, "nodejs_heap_size_used_bytes")).toBe(123_456);
    expect(metricValue(text, "nodejs_external_memory_bytes")).toBe(7_500_000);
  });

  it("answers undefined for a metric that is not there (or only a prefix of one)", () => {
    expect(metricValue(text, "nodejs_heap_size_total_bytes")).toBeUndefined();
    expect(metricValue(text, "nodejs_heap_size")).toBeUndefined();
  });
});
