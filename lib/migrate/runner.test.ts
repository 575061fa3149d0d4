import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../gen/prisma/client.js";
import { pgliteMigrationTarget } from "../adapters/pglite/migration-target.js";
import { openPostgresMigrationTarget } from "../adapters/postgres/migration-target.js";
import { createTestDatabase, type TestDatabase } from "../testing/postgres.js";
import { applyMigrations, type MigrationTarget, readMigrations } from "./runner.js";

interface MigrationRow {
  migration_name: string;
  checksum: string;
  applied_steps_count: number;
  finished_at: Date | null;
  logs: string | null;
}

// The same behaviour is required of both databases: the embedded profile
// (PGlite) and the distributed one (PostgreSQL 15) share migrations.
function suite(
  name: string,
  open: () => Promise<{ target: MigrationTarget; prisma: PrismaClient; close(): Promise<void> }>,
) {
  describe(`applyMigrations on ${name}`, () => {
    let env: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      env = await open();
    });
    afterAll(async () => {
      await env?.close();
    });

    it("applies every committed migration once and records it as Prisma does", async () => {
      const migrations = await readMigrations();
      expect(migrations.length).toBeGreaterThan(0);
      const first = await applyMigrations(env.target, migrations);
      expect(first.applied).toEqual(migrations.map((m) => m.name));
      const second = await applyMigrations(env.target, migrations);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(migrations.map((m) => m.name));

      const rows = await env.target.query<MigrationRow>(
        "SELECT migration_name, checksum, applied_steps_count, finished_at, logs FROM _prisma_migrations ORDER BY migration_name",
      );
      expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
      for (const [i, row] of rows.entries()) {
        expect(row.checksum).toBe(createHash("sha256").update(migrations[i]!.sql).digest("hex"));
        expect(row.applied_steps_count).toBe(1);
        expect(row.finished_at).not.toBeNull();
      }
    });

    it("leaves a usable schema for the Prisma client", async () => {
      await env.prisma.sequenceHighWater.create({
        data: { appId: 10001, seqKey: "p2p:b_a", maxValue: 1000n },
      });
      const row = await env.prisma.sequenceHighWater.findUnique({
        where: { appId_seqKey: { appId: 10001, seqKey: "p2p:b_a" } },
      });
      expect(row?.maxValue).toBe(1000n);
    });

    it("records a failing script and then refuses to run until it is resolved", async () => {
      const dir = await mkdtemp(join(tmpdir(), "ws-migrations-"));
      try {
        await mkdir(join(dir, "99990101000000_broken"));
        await writeFile(
          join(dir, "99990101000000_broken", "migration.sql"),
          "CREATE TABLE t1 (a int);\nSELEC oops;",
        );
        const broken = [...(await readMigrations()), ...(await readMigrations(dir))];
        await expect(applyMigrations(env.target, broken)).rejects.toThrow(/99990101000000_broken failed/);
        // The script ran in one transaction: its first statement left nothing behind.
        const t1 = await env.target.query<{ n: string }>("SELECT to_regclass('t1')::text AS n");
        expect(t1[0]?.n ?? null).toBeNull();
        const rows = await env.target.query<MigrationRow>(
          "SELECT migration_name, checksum, applied_steps_count, finished_at, logs FROM _prisma_migrations WHERE migration_name = '99990101000000_broken'",
        );
        expect(rows[0]?.finished_at).toBeNull();
        expect(rows[0]?.logs).toMatch(/syntax error/);
        await expect(applyMigrations(env.target, await readMigrations())).rejects.toThrow(/failed migration/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

suite("PostgreSQL", async () => {
  const db: TestDatabase = await createTestDatabase();
  const target = await openPostgresMigrationTarget(db.url);
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
  return {
    target,
    prisma,
    async close() {
      await prisma.$disconnect();
      await target.close();
      await db.drop();
    },
  };
});

suite("PGlite", async () => {
  const pglite = new PGlite();
  await pglite.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    target: pgliteMigrationTarget(pglite),
    prisma,
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
});
