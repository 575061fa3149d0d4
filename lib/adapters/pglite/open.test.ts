import { fstatSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openPglite, pgliteOptions } from "./open.js";
import type { FsyncTarget } from "./syncing-fs.js";

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
  }, 60_000); // a new folder is opened twice (./open.ts): 11-13 s on a loaded machine

  it("leaves PGlite's start parameters alone in memory when no size is asked", () => {
    expect(pgliteOptions({})).toEqual({});
  });
});

describe("openPglite's durability", () => {
  it("turns fsync on for a database on disk and syncs the WAL with fsync", () => {
    const params = pgliteOptions({}, "disk").startParams ?? [];
    expect(params).not.toContain("-F");
    expect(params.join(" ")).toContain("-c wal_sync_method=fsync");
  });

  it("fsyncs the WAL file on the host at each commit and the data files at a checkpoint", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ws-pglite-fsync-"));
    // The host file behind each fsync, by inode: the callback runs before the fsync, while the
    // descriptor is open.
    const synced: FsyncTarget[] = [];
    const inodes = new Set<number>();
    const onFsync = (target: FsyncTarget) => {
      synced.push(target);
      if ("fd" in target) inodes.add(fstatSync(target.fd).ino);
    };
    try {
      const db = await openPglite(dataDir, {}, onFsync);
      const fsync = await db.query<{ fsync: string }>("SHOW fsync");
      const method = await db.query<{ wal_sync_method: string }>("SHOW wal_sync_method");
      expect(fsync.rows[0]?.fsync).toBe("on");
      expect(method.rows[0]?.wal_sync_method).toBe("fsync");

      await db.exec("CREATE TABLE t (id int PRIMARY KEY)");
      const beforeCommit = synced.length;
      await db.query("INSERT INTO t VALUES (1)");
      expect(synced.length).toBeGreaterThan(beforeCommit);
      const walDir = join(dataDir, "pglite", "pg_wal");
      const walInodes = readdirSync(walDir)
        .filter((name) => /^[0-9A-F]{24}$/.test(name))
        .map((name) => statSync(join(walDir, name)).ino);
      expect(walInodes.some((ino) => inodes.has(ino))).toBe(true);

      const table = await db.query<{ path: string }>("SELECT pg_relation_filepath('t') AS path");
      const tableIno = statSync(join(dataDir, "pglite", table.rows[0]?.path ?? "")).ino;
      expect(inodes.has(tableIno)).toBe(false);
      await db.exec("CHECKPOINT");
      expect(inodes.has(tableIno)).toBe(true);
      await db.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
