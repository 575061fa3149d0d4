import pg from "pg";
import type { MigrationTarget } from "../../migrate/runner.js";

/**
 * A {@link MigrationTarget} on one PostgreSQL connection. A script goes through
 * the simple query protocol, which runs a multi-statement string as one
 * implicit transaction, exactly as Prisma's engine applies migration.sql.
 */
export async function openPostgresMigrationTarget(
  connectionString: string,
): Promise<MigrationTarget & { close(): Promise<void> }> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return {
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async runScript(sql: string) {
      await client.query(sql);
    },
    close: () => client.end(),
  };
}
