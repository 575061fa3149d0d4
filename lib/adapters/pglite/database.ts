import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../../../gen/prisma/client.js";
import { applyMigrations, readMigrations } from "../../migrate/runner.js";
import type { DatabaseHandle } from "../../ports/db.js";
import { translatingDriverAdapter } from "../prisma-errors.js";
import { reportingCommitFailures } from "./commit.js";
import { pgliteMigrationTarget } from "./migration-target.js";
import { openPglite, type PgliteStartOptions, pgliteOptions } from "./open.js";

/** Options for {@link openPgliteDatabase}. */
export interface PgliteDatabaseOptions extends PgliteStartOptions {
  /** Keeps the data in `{dataDir}/pglite`; absent = in memory, gone on close (tests). */
  dataDir?: string;
  /** Migrations folder (default prisma/migrations). */
  migrationsDir?: string;
}

/**
 * The embedded profile's database: the Prisma client on PGlite (PostgreSQL in
 * WASM, in this process) through `pglite-prisma-adapter`. The committed
 * migrations are applied on open with the same runner and the same
 * `_prisma_migrations` rows as `whaleshark migrate`, so a data folder is
 * always at the schema this build expects. One process at a time may open a
 * data folder. Statement errors of the port's kinds reject as its DbError
 * (../prisma-errors.ts), a failed COMMIT too (./commit.ts: the adapter alone
 * would resolve it).
 */
export async function openPgliteDatabase(opts: PgliteDatabaseOptions = {}): Promise<DatabaseHandle> {
  const pglite = opts.dataDir === undefined ? await openMemory(opts) : await openPglite(opts.dataDir, opts);
  try {
    await applyMigrations(pgliteMigrationTarget(pglite), await readMigrations(opts.migrationsDir));
  } catch (err) {
    await pglite.close();
    throw err;
  }
  const db = new PrismaClient({
    adapter: translatingDriverAdapter(reportingCommitFailures(new PrismaPGlite(pglite))),
  });
  return {
    db,
    close: async () => {
      await db.$disconnect();
      await pglite.close();
    },
  };
}

async function openMemory(opts: PgliteStartOptions): Promise<PGlite> {
  const db = new PGlite(pgliteOptions(opts));
  await db.waitReady;
  return db;
}
