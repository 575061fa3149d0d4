import type { Logger } from "pino";
import { pgliteMigrationTarget } from "../lib/adapters/pglite/migration-target.js";
import { openPglite } from "../lib/adapters/pglite/open.js";
import { openPostgresMigrationTarget } from "../lib/adapters/postgres/migration-target.js";
import type { Config } from "../lib/config/index.js";
import { applyMigrations, readMigrations } from "../lib/migrate/runner.js";

/**
 * `whaleshark migrate`: applies prisma/migrations to the profile's database
 * (PGlite under dataDir when embedded, `database.url` when distributed).
 * Safe to run from many processes at once: Prisma's advisory lock serialises them.
 */
export async function runMigrate(config: Config, logger: Logger): Promise<number> {
  const migrations = await readMigrations();
  if (config.profile === "embedded") {
    const db = await openPglite(config.dataDir, { sharedBuffersMb: config.database.embeddedSharedBuffersMb });
    try {
      const r = await applyMigrations(pgliteMigrationTarget(db), migrations);
      logger.info({ applied: r.applied, alreadyApplied: r.alreadyApplied.length }, "migrations done");
    } finally {
      await db.close();
    }
    return 0;
  }
  // loadConfig guarantees database.url in the distributed profile.
  const target = await openPostgresMigrationTarget(config.database.url as string);
  try {
    const r = await applyMigrations(target, migrations);
    logger.info({ applied: r.applied, alreadyApplied: r.alreadyApplied.length }, "migrations done");
  } finally {
    await target.close();
  }
  return 0;
}
