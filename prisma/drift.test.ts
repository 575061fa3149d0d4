import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresMigrationTarget } from "../lib/adapters/postgres/migration-target.js";
import { applyMigrations, readMigrations } from "../lib/migrate/runner.js";
import { createTestDatabase } from "../lib/testing/postgres.js";
import { openSchemaDiffer, type SchemaDiffer, schemaPath } from "../scripts/prisma-diff.js";

const run = promisify(execFile);

/**
 * The drift check (TOOLCHAIN.md §3): prisma/migrations and schema.prisma must
 * describe the same database. Two independent checks, both with Prisma's own
 * schema engine (WASM):
 * 1. the engine replays the migrations on a shadow database and finds nothing
 *    left to do for schema.prisma (what `prisma migrate dev` would complain
 *    about);
 * 2. on real PostgreSQL 15, a database migrated by our runner and one built
 *    from the engine's diff(empty → schema.prisma) dump to the same schema.
 * A failure means: run `npm run db:diff -- <name>` and commit the migration.
 */
describe("drift between prisma/migrations and schema.prisma", () => {
  let differ: SchemaDiffer;
  beforeAll(async () => {
    differ = await openSchemaDiffer(await readFile(schemaPath, "utf8"));
  }, 120_000);
  afterAll(async () => {
    await differ?.close();
  });

  it("leaves nothing to migrate after the committed migrations", async () => {
    expect(await differ.diff("migrations")).toBe("");
  }, 120_000);

  it("gives the same PostgreSQL schema as the engine's SQL for schema.prisma", async () => {
    const migrated = await createTestDatabase();
    const fromSchema = await createTestDatabase();
    try {
      const a = await openPostgresMigrationTarget(migrated.url);
      try {
        await applyMigrations(a, await readMigrations());
      } finally {
        await a.close();
      }
      const b = await openPostgresMigrationTarget(fromSchema.url);
      try {
        await b.runScript(await differ.diff("empty"));
      } finally {
        await b.close();
      }
      const [dumpA, dumpB] = await Promise.all([schemaDump(migrated.url), schemaDump(fromSchema.url)]);
      expect(dumpA).toContain("CREATE TABLE public.im_message_body (");
      expect(dumpA).toEqual(dumpB);
    } finally {
      await Promise.all([migrated.drop(), fromSchema.drop()]);
    }
  }, 120_000);
});

/**
 * `pg_dump --schema-only` without what differs between two identical
 * databases: comments, SET lines, search_path resets, blank lines and the
 * random `\restrict` tokens pg_dump 15.14+ writes.
 */
async function schemaDump(url: string): Promise<string[]> {
  const { stdout } = await run(
    "pg_dump",
    ["--schema-only", "--no-owner", "--exclude-table=_prisma_migrations", url],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stdout.split("\n").filter((line) => !/^--|^SET |^SELECT pg_catalog|^$|^\\(un)?restrict /.test(line));
}
