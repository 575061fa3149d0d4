import type { PGlite } from "@electric-sql/pglite";
import type { MigrationTarget } from "../../migrate/runner.js";

/** A {@link MigrationTarget} on an open PGlite database (embedded profile). */
export function pgliteMigrationTarget(db: PGlite): MigrationTarget {
  return {
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await db.query<T>(sql, params)).rows;
    },
    async runScript(sql: string) {
      await db.transaction(async (tx) => {
        await tx.exec(sql);
      });
    },
  };
}
