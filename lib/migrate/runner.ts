import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The committed migrations (Prisma's layout: one folder per migration holding migration.sql). */
export const migrationsDir = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/**
 * What the runner needs from a database: a SQL session that stays on one
 * connection for the whole run (the advisory lock belongs to the connection).
 */
export interface MigrationTarget {
  /** Runs one parameterised statement and returns its rows. */
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a whole migration script atomically: all of it, or none of it. */
  runScript(sql: string): Promise<void>;
}

/** One migration folder as read from disk. */
export interface Migration {
  name: string;
  sql: string;
  /** Lowercase hex SHA-256 of migration.sql, exactly what Prisma stores. */
  checksum: string;
}

/** The outcome of {@link applyMigrations}. */
export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

// Prisma's own lock key and table (prisma-engines' postgres flavour), so that a
// later `prisma migrate deploy` sees our runs as its own and waits on the same lock.
const PRISMA_ADVISORY_LOCK = 72707369;
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
  id VARCHAR(36) PRIMARY KEY NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  finished_at TIMESTAMPTZ,
  migration_name VARCHAR(255) NOT NULL,
  logs TEXT,
  rolled_back_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  applied_steps_count INTEGER NOT NULL DEFAULT 0
)`;

/** Reads every migration folder under `dir`, in name (= timestamp) order. */
export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

/**
 * Applies the pending migrations the way `prisma migrate deploy` does: under
 * Prisma's advisory lock, one row per migration in `_prisma_migrations`
 * (checksum, started/finished times, applied_steps_count = 1), matched by
 * folder name. Refuses to run while a failed migration is recorded (Prisma's
 * P3009), and records the error in `logs` when a script fails.
 */
export async function applyMigrations(
  target: MigrationTarget,
  migrations: Migration[],
): Promise<MigrationResult> {
  await target.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
  try {
    await target.query(CREATE_TABLE);
    const failed = await target.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL",
    );
    if (failed.length > 0) {
      const names = failed.map((f) => f.migration_name).join(", ");
      throw new Error(
        `migrate: failed migration(s) recorded (${names}); resolve them before migrating again`,
      );
    }
    const done = new Set(
      (
        await target.query<{ migration_name: string }>(
          "SELECT migration_name FROM _prisma_migrations WHERE rolled_back_at IS NULL",
        )
      ).map((r) => r.migration_name),
    );
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const m of migrations) {
      if (done.has(m.name)) {
        result.alreadyApplied.push(m.name);
        continue;
      }
      const id = randomUUID();
      await target.query(
        "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())",
        [id, m.checksum, m.name],
      );
      try {
        await target.runScript(m.sql);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await target.query("UPDATE _prisma_migrations SET logs = $2 WHERE id = $1", [id, message]);
        throw new Error(`migrate: ${m.name} failed: ${message}`);
      }
      await target.query(
        "UPDATE _prisma_migrations SET applied_steps_count = 1, finished_at = now() WHERE id = $1",
        [id],
      );
      result.applied.push(m.name);
    }
    return result;
  } finally {
    await target.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]);
  }
}
