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

dbContract("postgres", openMigrated, { transactions: "concurrent" });

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

describe("openPostgresDatabase pool settings (database.poolSize, database.connectTimeoutMs)", () => {
  it("opens at most poolSize connections and fails a query that waits longer than connectTimeoutMs", async () => {
    const testDb = await createTestDatabase();
    const handle = await openPostgresDatabase({ url: testDb.url, poolSize: 2, connectTimeoutMs: 300 });
    const admin = await openPostgresDatabase({ url: testDb.url, poolSize: 1 });
    try {
      // Prisma queries start when awaited: Promise.all starts both now.
      const sleeping = Promise.all(
        [1, 2].map(() => handle.db.$queryRaw`SELECT pg_sleep(1.5)::text AS slept`),
      );
      // Both connections are busy: a third query waits for one, then gives up.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      await expect(handle.db.$queryRaw`SELECT 1 AS one`).rejects.toThrow(/timeout/);
      expect(Date.now() - started).toBeLessThan(1_200);
      const open = await admin.db.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()`;
      expect(open[0]?.n).toBe(2);
      await sleeping;
    } finally {
      await admin.close();
      await handle.close();
      await testDb.drop();
    }
  });
});
