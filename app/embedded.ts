import type { Logger } from "pino";
import { pgliteMigrationTarget } from "../lib/adapters/pglite/migration-target.js";
import { openPglite } from "../lib/adapters/pglite/open.js";
import type { Config } from "../lib/config/index.js";
import { roleLogger } from "../lib/log/index.js";
import { applyMigrations, readMigrations } from "../lib/migrate/runner.js";
import type { RoleHandle } from "../lib/role/role.js";
import { runUntilSignal } from "./lifecycle.js";
import { roles, startOrder } from "./roles.js";

/**
 * `whaleshark start`: every role in this one process. The embedded profile
 * keeps its data under `dataDir` (PGlite in `{dataDir}/pglite`, migrated on
 * start); the roles still talk gRPC to each other over loopback, exactly as
 * they do when each runs alone.
 */
export async function runAllInOne(config: Config, logger: Logger): Promise<number> {
  const closers: Array<() => Promise<void>> = [];
  if (config.profile === "embedded") {
    const db = await openPglite(config.dataDir);
    closers.push(() => db.close());
    const result = await applyMigrations(pgliteMigrationTarget(db), await readMigrations());
    logger.info({ dataDir: config.dataDir, applied: result.applied }, "embedded database ready");
  }
  const handles: RoleHandle[] = [];
  try {
    for (const name of startOrder) {
      handles.unshift(await roles[name]({ logger: roleLogger(logger, name) }, config));
    }
  } catch (err) {
    logger.error({ err }, "start-up failed");
    for (const h of handles) await h.stop().catch(() => undefined);
    for (const close of closers) await close().catch(() => undefined);
    return 1;
  }
  logger.info({ roles: handles.map((h) => `${h.role}@${h.grpcAddress}`) }, "whaleshark started");
  return runUntilSignal(handles, logger, async () => {
    for (const close of closers) await close();
  });
}
