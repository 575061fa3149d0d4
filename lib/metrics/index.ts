/**
 * Public surface of the metrics module: a registry per role and its `/metrics` endpoint
 * (docs/architecture.md §7).
 */

export { type HotCount, HotCounter } from "./hot-counter.js";
export {
  METRICS_PATH,
  type MetricsServerOptions,
  type RunningMetricsServer,
  startMetricsServer,
} from "./http-server.js";
export { createMetricsRegistry, type MetricsRegistryOptions } from "./registry.js";
export { metricsPortOf, startRoleMetrics } from "./role-metrics.js";
