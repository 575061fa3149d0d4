/** V8 memory of a server process as its Prometheus default metrics report it. */
export interface HeapSample {
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

/** The first value of metric `name` in Prometheus text, labels or not; undefined when absent. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([-+0-9.eE]+)`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads `nodejs_heap_size_used_bytes`, `nodejs_heap_size_total_bytes` and
 * `nodejs_external_memory_bytes` from the process's `/metrics` (prom-client default metrics, which
 * every role registers). Heap used includes garbage not yet collected, so it is a companion to RSS,
 * not a replacement. Undefined when the endpoint does not answer.
 */
export async function scrapeHeap(port: number): Promise<HeapSample | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await response.text();
    const used = metricValue(text, "nodejs_heap_size_used_bytes");
    const total = metricValue(text, "nodejs_heap_size_total_bytes");
    const external = metricValue(text, "nodejs_external_memory_bytes");
    if (used === undefined || total === undefined) return undefined;
    return { heapUsedBytes: used, heapTotalBytes: total, externalBytes: external ?? 0 };
  } catch {
    return undefined;
  }
}
