import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Server that tests create their databases on. PostgreSQL 15 runs on every
 * developer machine and in CI (trust auth); override with
 * WHALESHARK_TEST_DATABASE_URL to point elsewhere.
 */
export const testServerUrl =
  process.env.WHALESHARK_TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** A database of its own for one test run; `drop()` removes it. */
export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named database (`ws_test_<hex>`), so parallel runs
 * and other projects on the same server never see each other's rows.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ws_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testServerUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
