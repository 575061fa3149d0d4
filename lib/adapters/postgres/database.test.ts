import { describe, expect, it } from "vitest";
import { applyMigrations, readMigrations } from "../../migrate/runner.js";
import { dbContract } from "../../ports/db.contract.js";
import { createTestDatabase } from "../../testing/postgres.js";
import { openPostgresDatabase } from "./database.js";
import { openPostgresMigrationTarget } from "./migration-target.js";

/** A fresh database on the test server, migrated the way `whaleshark migrate` does it. */
async function openMigrated() {
  const testDb = await createTestDatabase();
  const target = await openPostgresMigrationTarget(testDb.url);
  try {
    await applyMigrations(target, await readMigrations());
  } finally {
    await target.close();
  }
  const handle = await openPostgresDatabase({ url: testDb.url, poolSize: 4 });
  return {
    db: handle.db,
    close: async () => {
      await handle.close();
      await testDb.drop();
    },
  };
}

dbContract("postgres", openMigrated);

describe("postgres migrations", () => {
  it("a second migrate applies nothing", async () => {
    const testDb = await createTestDatabase();
    const target = await openPostgresMigrationTarget(testDb.url);
    try {
      const first = await applyMigrations(target, await readMigrations());
      expect(first.applied.length).toBeGreaterThan(0);
      const second = await applyMigrations(target, await readMigrations());
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(first.applied);
    } finally {
      await target.close();
      await testDb.drop();
    }
  });
});
