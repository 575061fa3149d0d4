import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dbContract } from "../../ports/db.contract.js";
import { isDbError } from "../../ports/db.js";
import { openPgliteDatabase } from "./database.js";

dbContract("pglite (in memory)", () => openPgliteDatabase(), { transactions: "one-at-a-time" });

describe("openPgliteDatabase with a data folder", () => {
  it("migrates on first open, keeps the rows, and migrates nothing on reopen", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ws-pglite-"));
    try {
      const first = await openPgliteDatabase({ dataDir });
      await first.db.group.create({ data: { appId: 1, groupId: "kept", ownerId: "u1" } });
      await first.close();
      const again = await openPgliteDatabase({ dataDir });
      expect(await again.db.group.count({ where: { groupId: "kept" } })).toBe(1);
      const rows = await again.db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM _prisma_migrations`;
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
      await again.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a COMMIT that fails on PGlite", () => {
  // pglite-prisma-adapter alone resolves it (./commit.ts says why); the db contract checks the
  // port's error. Here: both kinds of Prisma transaction, and that PGlite has left the failed
  // transaction and released its lock, so the next one runs and commits.
  it("rejects with the port's error, keeps none of the rows, and the next transaction commits", async () => {
    const handle = await openPgliteDatabase();
    try {
      const { db } = handle;
      // A deferred constraint is checked at COMMIT; PGlite has one session, so the temporary
      // table outlives the transactions below.
      await db.$executeRaw`CREATE TEMPORARY TABLE commit_probe (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)`;
      const interactive = await db
        .$transaction(async (tx) => {
          await tx.$executeRaw`INSERT INTO commit_probe VALUES (1), (1)`; // refused at COMMIT
          await tx.group.create({ data: { appId: 1, groupId: "lost", ownerId: "u1" } });
          return "committed";
        })
        .catch((e: unknown) => e);
      expect(isDbError(interactive) ? interactive.kind : interactive).toBe("unique-violation");
      const batch = await db
        .$transaction([
          db.$executeRaw`INSERT INTO commit_probe VALUES (2), (2)`,
          db.group.create({ data: { appId: 1, groupId: "lost-batch", ownerId: "u1" } }),
        ])
        .catch((e: unknown) => e);
      expect(isDbError(batch) ? batch.kind : batch).toBe("unique-violation");
      expect(await db.group.count({ where: { groupId: { startsWith: "lost" } } })).toBe(0);
      expect(await db.$queryRaw`SELECT k FROM commit_probe`).toEqual([]);

      await db.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO commit_probe VALUES (1)`;
        await tx.group.create({ data: { appId: 1, groupId: "kept", ownerId: "u1" } });
      });
      await db.$transaction([db.group.create({ data: { appId: 1, groupId: "kept-batch", ownerId: "u1" } })]);
      expect(await db.group.count({ where: { groupId: { startsWith: "kept" } } })).toBe(2);
      expect(await db.$queryRaw`SELECT k FROM commit_probe`).toEqual([{ k: 1 }]);
    } finally {
      await handle.close();
    }
  });
});
