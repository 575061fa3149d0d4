import { expect } from "vitest";
import { openPostgresDatabase } from "../../lib/adapters/postgres/database.js";
import { dbContract } from "../../lib/ports/db.contract.js";
import { createTestDatabase } from "../../lib/testing/postgres.js";
import { isolatedEnv, runCli } from "../support/cli.js";

/**
 * Issue "Done when": on a fresh PostgreSQL database, `whaleshark migrate`
 * (the real command, distributed profile) then the Prisma client can create
 * and read every model (the db contract), and a second `migrate` applies
 * nothing.
 */
dbContract("postgres after `whaleshark migrate`", migratedByTheCommand, { transactions: "concurrent" });

/** A fresh database that `whaleshark migrate` migrated (twice: the second applies nothing). */
async function migratedByTheCommand() {
  const testDb = await createTestDatabase();
  const env = await isolatedEnv({
    WHALESHARK_PROFILE: "distributed",
    WHALESHARK_DATABASE__URL: testDb.url,
    WHALESHARK_REDIS__URL: "redis://127.0.0.1:6379",
    WHALESHARK_AMQP__URL: "amqp://guest:guest@127.0.0.1:5672",
    WHALESHARK_APPS: JSON.stringify({ 10001: { privateKey: "migrate-test-key" } }),
  });
  const first = await runCli(["migrate"], env, 60_000);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/"applied":\["\d{14}_init"/);
  const second = await runCli(["migrate"], env, 60_000);
  expect(second.code, second.stderr).toBe(0);
  expect(second.stdout).toMatch(/"applied":\[\]/);
  const handle = await openPostgresDatabase({ url: testDb.url, poolSize: 2 });
  return {
    db: handle.db,
    close: async () => {
      await handle.close();
      await testDb.drop();
    },
  };
}
