/**
 * `npm run db:diff -- <name>`: writes the next migration,
 * prisma/migrations/<UTC timestamp>_<name>/migration.sql, holding the SQL
 * that takes the committed migrations to the current prisma/schema.prisma.
 *
 * The Prisma CLI cannot do this offline (it downloads its schema engine,
 * TOOLCHAIN.md §3), so this runs Prisma's own schema engine compiled to WASM
 * (`@prisma/schema-engine-wasm`) on an in-memory PGlite: the engine replays
 * the migrations on a PGlite shadow database and diffs the result against
 * the schema, exactly what `prisma migrate dev --create-only` does. No
 * database server is involved.
 *
 * Options: `--print` writes the SQL to stdout instead of a folder;
 * `--from-empty` diffs from an empty database (the whole schema as one script).
 * Nothing is written when the schema and the migrations already agree.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { DiffTarget, SchemaEngine } from "@prisma/schema-engine-wasm";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { migrationsDir, readMigrations } from "../lib/migrate/runner.js";

/** prisma/schema.prisma. */
export const schemaPath = fileURLToPath(new URL("../prisma/schema.prisma", import.meta.url));

/** Where to diff from. */
export type DiffFrom = "empty" | "migrations";

/** Prisma's schema engine loaded with one schema. */
export interface SchemaDiffer {
  /**
   * The SQL that takes `from` (an empty database, or the state the committed
   * migrations in `dir` produce) to the schema; "" when there is nothing to do.
   */
  diff(from: DiffFrom, dir?: string): Promise<string>;
  /** Frees the engine and its database (the engine otherwise keeps the process alive). */
  close(): Promise<void>;
}

/** {@link SchemaDiffer.diff} once: opens an engine, diffs, closes it. */
export async function diffSql(from: DiffFrom, schema: string, dir = migrationsDir): Promise<string> {
  const differ = await openSchemaDiffer(schema);
  try {
    return await differ.diff(from, dir);
  } finally {
    await differ.close();
  }
}

/**
 * Opens the engine on an in-memory PGlite, whose adapter also makes the
 * shadow database (where the engine replays the migrations) in memory.
 * Opening takes seconds (PGlite starts), a diff milliseconds: reuse it.
 */
export async function openSchemaDiffer(schema: string): Promise<SchemaDiffer> {
  const runtime = await loadRuntime();
  const db = new PGlite();
  await db.waitReady;
  let engine: SchemaEngine;
  try {
    engine = await runtime.SchemaEngine.new(
      { datamodels: [["schema.prisma", schema]] },
      () => undefined,
      bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(db)),
    );
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    async diff(from, dir = migrationsDir) {
      const source: DiffTarget = from === "empty" ? { tag: "empty" } : await migrationList(dir);
      const result = await engine.diff({
        from: source,
        to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: schema }] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      const sql = result.stdout ?? "";
      return isEmptyScript(sql) ? "" : sql;
    },
    async close() {
      engine.free();
      await db.close();
    },
  };
}

/** The committed migrations as the engine wants them (already read from disk). */
async function migrationList(dir: string): Promise<DiffTarget> {
  const lockPath = join(dir, "migration_lock.toml");
  const lock = await readFile(lockPath, "utf8").catch(() => null);
  const migrations = await readMigrations(dir);
  return {
    tag: "migrations",
    baseDir: dir,
    lockfile: { path: lockPath, content: lock },
    shadowDbInitScript: "",
    migrationDirectories: migrations.map((m) => ({
      path: m.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } },
    })),
  };
}

/** An empty diff is a comment-only script ("-- This is an empty migration."). */
function isEmptyScript(sql: string): boolean {
  return sql.split("\n").every((line) => line.trim() === "" || line.trimStart().startsWith("--"));
}

/** The slice of the WebAssembly global used here. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, object>) => { exports: object };
}

type Runtime = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");
let runtimeLoaded: Promise<Runtime> | undefined;

/**
 * Instantiates the engine's WASM once per process: wasm-bindgen modules keep
 * their instance in module state, and a second instantiation panics.
 */
function loadRuntime(): Promise<Runtime> {
  runtimeLoaded ??= (async () => {
    // The engine reports a Rust panic's text through this global before throwing.
    const registry = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
    registry.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message: (m) => process.stderr.write(`schema engine panic: ${m}\n`),
    };
    const runtime = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const pkgDir = dirname(createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm"));
    // tsconfig has no DOM lib, which is where TypeScript declares WebAssembly.
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = new wasm.Module(await readFile(join(pkgDir, "schema_engine_bg.wasm")));
    const instance = new wasm.Instance(module, { "./schema_engine_bg.js": runtime });
    const exports = instance.exports as unknown as { __wbindgen_start(): void };
    runtime.__wbg_set_wasm(exports);
    exports.__wbindgen_start();
    return runtime;
  })();
  return runtimeLoaded;
}

/** `YYYYMMDDHHMMSS` in UTC, Prisma's migration folder prefix. */
function timestamp(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

async function main(argv: string[]): Promise<number> {
  const print = argv.includes("--print");
  const from: DiffFrom = argv.includes("--from-empty") ? "empty" : "migrations";
  const name = argv.find((a) => !a.startsWith("--"));
  if (!print && (name === undefined || !/^[a-z0-9_]+$/.test(name))) {
    process.stderr.write(
      "usage: npm run db:diff -- <name: lowercase letters, digits, _> [--print] [--from-empty]\n",
    );
    return 2;
  }
  const sql = await diffSql(from, await readFile(schemaPath, "utf8"));
  if (sql === "") {
    process.stderr.write("db:diff: schema.prisma and the migrations agree; nothing to write\n");
    return 0;
  }
  if (print) {
    process.stdout.write(sql);
    return 0;
  }
  const dir = join(migrationsDir, `${timestamp()}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "migration.sql"), sql);
  process.stderr.write(`db:diff: wrote ${join(dir, "migration.sql")}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // exit explicitly: the WASM engine's runtime keeps the event loop alive.
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`db:diff: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
