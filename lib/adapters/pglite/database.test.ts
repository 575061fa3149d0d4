import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dbContract } from "../../ports/db.contract.js";
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

describe("a COMMIT that fails on PGlite (known defect of pglite-prisma-adapter 0.7.2)", () => {
  // The adapter runs each transaction in PGlite's `transaction()` and drops that promise's
  // rejection, so a COMMIT that PostgreSQL refuses resolves `$transaction` though nothing was
  // written. Our schema gives a COMMIT no reason to fail on PGlite (no deferred constraints; one
  // connection, so no serialization failure), which leaves an I/O error at COMMIT. The db
  // contract checks the COMMIT case on PostgreSQL only; when this test fails, the adapter reports
  // it, and the case belongs in the contract for both.
  it("resolves the transaction and keeps none of its rows", async () => {
    const handle = await openPgliteDatabase();
    try {
      const { db } = handle;
      await db.$executeRaw`CREATE TEMPORARY TABLE commit_probe (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)`;
      const outcome = await db.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO commit_probe VALUES (1), (1)`; // refused at COMMIT
        await tx.group.create({ data: { appId: 1, groupId: "lost", ownerId: "u1" } });
        return "committed";
      });
      expect(outcome).toBe("committed");
      expect(await db.group.count({ where: { groupId: "lost" } })).toBe(0);
    } finally {
      await handle.close();
    }
  });
});
