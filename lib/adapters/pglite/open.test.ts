import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openPglite, pgliteOptions } from "./open.js";

describe("openPglite's shared_buffers", () => {
  it("starts PostgreSQL with the asked shared_buffers and PGlite's other defaults", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ws-pglite-open-"));
    try {
      const db = await openPglite(dataDir, { sharedBuffersMb: 16 });
      const shown = await db.query<{ shared_buffers: string }>("SHOW shared_buffers");
      const path = await db.query<{ search_path: string }>("SHOW search_path");
      await db.close();
      expect(shown.rows[0]?.shared_buffers).toBe("16MB");
      expect(path.rows[0]?.search_path).toBe("public");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("leaves PGlite's start parameters alone when no size is asked", () => {
    expect(pgliteOptions({})).toEqual({});
  });
});
