import { openPostgresDatabase } from "../../../lib/adapters/postgres/database.js";
import { openPostgresMigrationTarget } from "../../../lib/adapters/postgres/migration-target.js";
import { applyMigrations, readMigrations } from "../../../lib/migrate/runner.js";
import type { Database } from "../../../lib/ports/db.js";
import { createTestDatabase } from "../../../lib/testing/postgres.js";

/** A migrated database of its own for one test file (tests only). */
export interface MessagingTestDatabase {
  db: Database;
  url: string;
  /** Disconnects and drops the database. */
  close(): Promise<void>;
}

/**
 * A fresh PostgreSQL database on the test server, migrated as `whaleshark
 * migrate` does, with a Prisma client on it (sequence and messaging tests).
 */
export async function messagingTestDatabase(poolSize = 6): Promise<MessagingTestDatabase> {
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
