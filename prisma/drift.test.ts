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
 *    from the engine's diff(empty → schema.prisma) dump to the same schema,
 *    once the partitioning of the message tables is taken out of the first
 *    (the one allowance, {@link withoutMessagePartitions}).
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
      expect(withoutMessagePartitions(dumpA)).toEqual(dumpB);
      // the allowance demands the partitioning: unpartitioned message tables fail it
      expect(() => withoutMessagePartitions(dumpB)).toThrow(/not partitioned by range of message_key/);
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

/** The tables migration 20261206153338_partitioned_message_tables partitions by range of message_key. */
const PARTITIONED = ["im_message_body", "im_message_history", "im_group_message_history"];
/** How pg_dump ends such a table's CREATE TABLE, on a line after the column list's `)`. */
const PARTITION_BY = "PARTITION BY RANGE (message_key);";

/**
 * The drift check's one allowance (docs/message-tables.md): Prisma's schema cannot declare
 * partitioning, so the migrated database's dump is compared without it, and without nothing
 * else. Each of the three message tables must be `PARTITION BY RANGE (message_key)` with a
 * DEFAULT partition (else this throws); then the partitions' statements (their tables, their
 * ATTACH, their keys and indexes, each named `<table>_pYYYYMM…` or `<table>_default…`) are
 * dropped, and what pg_dump writes differently for a partitioned parent is written as for a plain
 * table: `)` + `PARTITION BY RANGE (message_key);` → `);`, `CREATE INDEX … ON ONLY` → `ON`, and
 * `ALTER TABLE` → `ALTER TABLE ONLY` before a foreign key. Any other difference still fails.
 */
function withoutMessagePartitions(dump: string[]): string[] {
  const statements: string[][] = [];
  let current: string[] = [];
  for (const line of dump) {
    current.push(line);
    if (line.endsWith(";")) {
      statements.push(current);
      current = [];
    }
  }
  if (current.length > 0) statements.push(current);
  const partition = new RegExp(`public\\.(${PARTITIONED.join("|")})_(p\\d{6}|default)`);
  const sql = statements.map((s) => s.join("\n"));
  for (const table of PARTITIONED) {
    const create = sql.find((s) => s.startsWith(`CREATE TABLE public.${table} (`));
    if (!create?.endsWith(`\n${PARTITION_BY}`))
      throw new Error(`${table} is not partitioned by range of message_key`);
    if (!sql.includes(`ALTER TABLE ONLY public.${table} ATTACH PARTITION public.${table}_default DEFAULT;`))
      throw new Error(`${table} has no DEFAULT partition`);
  }
  const parent = PARTITIONED.join("|");
  return statements
    .filter((_, i) => !partition.test(sql[i] ?? ""))
    .map((lines) =>
      lines.at(-1) === PARTITION_BY && lines.at(-2) === ")" ? [...lines.slice(0, -2), ");"] : lines,
    )
    .flatMap((lines) =>
      lines.map((line) =>
        line
          .replace(new RegExp(`^(CREATE INDEX \\S+) ON ONLY (public\\.(?:${parent}) )`), "$1 ON $2")
          .replace(new RegExp(`^ALTER TABLE (public\\.(?:${parent}))$`), "ALTER TABLE ONLY $1"),
      ),
    );
}
