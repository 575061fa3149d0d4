import { afterAll, beforeAll } from "vitest";
import { openPgliteDatabase } from "../adapters/pglite/database.js";
import type { Database } from "../ports/db.js";
import { migratedTestDatabase } from "./migrated-database.js";

/** A database of the db port opened for one test file, and how to close it. */
export interface OpenedTestDatabase {
  db: Database;
  close(): Promise<void>;
}

/**
 * Both adapters of the db port, for `describe.each`: the store's SQL runs on PostgreSQL in the
 * distributed profile and on PGlite in the embedded one, so its tests run on both. PostgreSQL is a
 * database of its own per call, migrated (pool of `poolSize`); PGlite is in memory, migrated on open.
 */
export function bothDatabases(poolSize?: number): Array<[string, () => Promise<OpenedTestDatabase>]> {
  return [
    ["PostgreSQL", () => migratedTestDatabase(poolSize)],
    ["PGlite", () => openPgliteDatabase()],
  ];
}

/**
 * Opens `open`'s database before the tests of the enclosing `describe` and closes it after them,
 * handing the open database to `use` (a test file's `let db` is set there).
 */
export function withTestDatabase(
  open: () => Promise<OpenedTestDatabase>,
  use: (db: Database) => void,
  timeoutMs = 60_000,
): void {
  let opened: OpenedTestDatabase | undefined;
  beforeAll(async () => {
    opened = await open();
    use(opened.db);
  }, timeoutMs);
  afterAll(async () => {
    await opened?.close();
  });
}
