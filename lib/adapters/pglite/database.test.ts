import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dbContract } from "../../ports/db.contract.js";
import { openPgliteDatabase } from "./database.js";

dbContract("pglite (in memory)", () => openPgliteDatabase());

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
