import type { Logger } from "pino";
import type { Config } from "../lib/config/index.js";
import { InProcessServices } from "../lib/grpc/in-process.js";
import { configureGrpcServers } from "../lib/grpc/server.js";
import { roleLogger } from "../lib/log/index.js";
import { createMetricsRegistry, startRoleMetrics } from "../lib/metrics/index.js";
import type { RoleHandle } from "../lib/role/role.js";
import { startTracing } from "../lib/tracing/start-tracing.js";
import { consoleUrl, startBanner } from "./banner.js";
import { createDeps } from "./deps.js";
import { runUntilSignal } from "./lifecycle.js";
import { startOrder } from "./roles.js";
import { type SeedOutcome, seedDemo } from "./seed-demo.js";

/**
 * `whaleshark start`: every role in this one process, sharing one set of
 * adapters. In the embedded profile (the default) that is memory kv, the
 * memory bus behind its on-disk journal, and PGlite under `dataDir`. The
 * roles call each other's gRPC handlers directly (same serialization,
 * metadata, authentication and deadlines as over the wire, without HTTP/2 on
 * loopback); their servers still listen for everyone else.
 */
export async function runAllInOne(config: Config, logger: Logger): Promise<number> {
  configureGrpcServers(config); // reflection and connection caps of the domain and store servers
  // One tracer per role (docs/tracing.md); nothing is loaded when tracing.enabled is false.
  const tracing = await startTracing(config, startOrder, logger);
  // The roles of this process call each other's gRPC services directly (lib/grpc/in-process.ts).
  const deps = await createDeps(config, logger, { inProcess: new InProcessServices() });
  if (config.profile === "embedded") await deps.db(); // migrate before anything listens
  const handles: RoleHandle[] = [];
  let seed: SeedOutcome;
  try {
    for (const name of startOrder) {
      const role = roleLogger(logger, name);
      const handle = await deps.startRole(name, role);
      handles.unshift(name === "domain" ? await withDomainMetrics(handle, config, role) : handle);
      // Jobs replayed from the bus journal are stored before the domain checks resends against them.
      if (name === "store") await deps.recovered?.();
    }
    // Before "started": whoever waits for that line (people, tests) finds the demo users there.
    seed = await seedDemo(
      config,
      { domainTarget: deps.grpcTargets.domain, inProcess: deps.inProcess },
      logger,
    );
  } catch (err) {
    logger.error({ err }, "start-up failed");
    for (const h of handles) await h.stop().catch(() => undefined);
    await deps.close().catch(() => undefined);
    await tracing.shutdown();
    return 1;
  }
  logger.info(
    { roles: handles.map((h) => `${h.role}@${h.grpcAddress}`), console: consoleUrl(config, handles) },
    "whaleshark started",
  );
  // After the log lines before it (pino-pretty writes from a worker thread), so the banner ends them.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.stderr.write(startBanner(config, handles, seed));
  return runUntilSignal(handles, logger, async () => {
    try {
      await deps.close();
    } finally {
      await tracing.shutdown();
    }
  });
}

/**
 * Serves the domain role's `/metrics` endpoint (`metrics.domainPort`, 9465) beside `handle` and
 * stops it after the role: the registry the domain made (`handle.registry`: its HTTP API series and
 * the process metrics, CPU, memory, event-loop lag, GC, labelled `role="domain"`), or a fresh one;
 * the gateway and the store serve theirs themselves. Nothing starts when `metrics.enabled` is false.
 */
export async function withDomainMetrics(
  handle: RoleHandle,
  config: Config,
  logger: Logger,
): Promise<RoleHandle> {
  const registry = handle.registry ?? createMetricsRegistry({ role: "domain", nodeId: config.nodeId });
  let metrics: Awaited<ReturnType<typeof startRoleMetrics>>;
  try {
    metrics = await startRoleMetrics(config, "domain", registry, logger);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return {
    ...handle,
    stop: async () => {
      try {
        await handle.stop();
      } finally {
        await metrics?.stop();
      }
    },
  };
}
