import type { PrismaClient } from "../../gen/prisma/client.js";
import { openPostgresDatabase } from "../adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../adapters/postgres/migration-target.js";
import { applyMigrations, readMigrations } from "../migrate/runner.js";
import { createTestDatabase } from "./postgres.js";

/** A migrated database of its own for one test file (tests only). */
export interface MigratedTestDatabase {
  /** The whole client, as a DatabaseHandle's (lib/ports/db.ts): tests may alter the schema. */
  db: PrismaClient;
  url: string;
  /** Disconnects and drops the database. */
  close(): Promise<void>;
}

/**
 * A fresh PostgreSQL database on the test server, migrated the way
 * `whaleshark migrate` does it, with a Prisma client on it.
 */
export async function migratedTestDatabase(poolSize = 6): Promise<MigratedTestDatabase> {
  const testDb = await createTestDatabase();
  const target = await openPostgresMigrationTarget(testDb.url);
  try {
    await applyMigrations(target, await readMigrations());
  } finally {
    await target.close();
  }
  const handle = await openPostgresDatabase({ url: testDb.url, poolSize });
  return {
    db: handle.db,
    url: testDb.url,
    close: async () => {
      await handle.close();
      await testDb.drop();
    },
  };
}
