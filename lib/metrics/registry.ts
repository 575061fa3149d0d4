import { collectDefaultMetrics, Registry } from "prom-client";

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Process role, added as the `role` label of every series (`gateway`, `domain`, `store`). */
  role: string;
  /** `config.nodeId`, added as the `node` label, so series of several processes never merge. */
  nodeId: string;
  /**
   * Also collect prom-client's process metrics (CPU, memory, event-loop lag, GC). Default true;
   * tests turn it off to keep scrapes small and deterministic.
   */
  processMetrics?: boolean;
}

/**
 * A fresh Prometheus registry for one role of one process (docs/architecture.md §7). Never prom-client's
 * global default: the embedded profile runs several roles in one process and tests start several gateways
 * side by side, and each needs its own series without name collisions.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role: options.role, node: options.nodeId });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
