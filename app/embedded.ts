import type { Logger } from "pino";
import type { Config } from "../lib/config/index.js";
import { InProcessServices } from "../lib/grpc/in-process.js";
import { roleLogger } from "../lib/log/index.js";
import type { RoleHandle } from "../lib/role/role.js";
import { createDeps } from "./deps.js";
import { runUntilSignal } from "./lifecycle.js";
import { startOrder } from "./roles.js";

/**
 * `whaleshark start`: every role in this one process, sharing one set of
 * adapters. In the embedded profile (the default) that is memory kv, the
 * memory bus behind its on-disk journal, and PGlite under `dataDir`. The
 * roles call each other's gRPC handlers directly (same serialization,
 * metadata, authentication and deadlines as over the wire, without HTTP/2 on
 * loopback); their servers still listen for everyone else.
 */
export async function runAllInOne(config: Config, logger: Logger): Promise<number> {
  // The roles of this process call each other's gRPC services directly (lib/grpc/in-process.ts).
  const deps = await createDeps(config, logger, { inProcess: new InProcessServices() });
  if (config.profile === "embedded") await deps.db(); // migrate before anything listens
  const handles: RoleHandle[] = [];
  try {
    for (const name of startOrder) {
      handles.unshift(await deps.startRole(name, roleLogger(logger, name)));
      // Jobs replayed from the bus journal are stored before the domain checks resends against them.
      if (name === "store") await deps.recovered?.();
    }
  } catch (err) {
    logger.error({ err }, "start-up failed");
    for (const h of handles) await h.stop().catch(() => undefined);
    await deps.close().catch(() => undefined);
    return 1;
  }
  logger.info({ roles: handles.map((h) => `${h.role}@${h.grpcAddress}`) }, "whaleshark started");
  return runUntilSignal(handles, logger, () => deps.close());
}
