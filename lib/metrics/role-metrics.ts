import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Config } from "../config/index.js";
import type { RoleName } from "../role/role.js";
import { type RunningMetricsServer, startMetricsServer } from "./http-server.js";

/** The `/metrics` port of a role (`metrics.gatewayPort`, `domainPort`, `storePort`). */
export function metricsPortOf(config: Config, role: RoleName): number {
  switch (role) {
    case "gateway":
      return config.metrics.gatewayPort;
    case "domain":
      return config.metrics.domainPort;
    case "store":
      return config.metrics.storePort;
  }
}

/**
 * Starts the role's `/metrics` endpoint from the config, or returns undefined when
 * `metrics.enabled` is false. Each role has its own port, so all three can share the embedded
 * process; the caller stops the returned server in its own `stop()`.
 */
export async function startRoleMetrics(
  config: Config,
  role: RoleName,
  registry: Registry,
  logger: Logger,
): Promise<RunningMetricsServer | undefined> {
  if (!config.metrics.enabled) return undefined;
  return startMetricsServer({
    host: config.metrics.host,
    port: metricsPortOf(config, role),
    registry,
    logger,
    maxConnections: config.metrics.maxConnections,
    maxConnectionsPerIp: config.metrics.maxConnectionsPerIp,
  });
}
