import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { type FsyncTarget, fsyncTree, SyncingNodeFS } from "./syncing-fs.js";

/** PGlite's own default for shared_buffers; the embedded profile asks for less (see {@link pgliteOptions}). */
export const PGLITE_DEFAULT_SHARED_BUFFERS_MB = 128;

/**
 * How the embedded database is started. `sharedBuffersMb` is PostgreSQL's shared_buffers: PGlite
 * keeps the default 128 MB inside its WASM memory, and once a process has read enough pages they
 * all stay resident (measured: 293 MiB RSS for PGlite alone at 128 MB, 183 MiB at 16 MB, 152 MiB at
 * 4 MB; bench/RESULTS.md "footprint"). PGlite's files are ordinary files, so the operating
 * system's page cache still holds what does not fit.
 */
export interface PgliteStartOptions {
  sharedBuffersMb?: number;
}

/**
 * PGlite's constructor options for {@link PgliteStartOptions}. On `"disk"` PostgreSQL runs with
 * fsync on (PGlite's defaults turn it off with `-F`): the store acks a job's journal entry once
 * its batch has committed, and the journal then drops it (README, "What an ACK means"), so a
 * commit must survive an OS crash or power loss on its own. The WAL is synced with fsync because
 * fdatasync, PostgreSQL's default on Linux, never reaches the disk under PGlite (./syncing-fs.ts).
 * In memory there is nothing to sync, and PGlite's defaults are kept.
 */
export function pgliteOptions(
  opts: PgliteStartOptions,
  storage: "memory" | "disk" = "memory",
): { startParams?: string[] } {
  const params =
    storage === "disk"
      ? [...PGlite.defaultStartParams.filter((p) => p !== "-F"), "-c", "wal_sync_method=fsync"]
      : [...PGlite.defaultStartParams];
  if (opts.sharedBuffersMb !== undefined) {
    // `-B` takes 8 kB buffers; added after PGlite's defaults.
    params.push("-B", String(Math.max(16, Math.round((opts.sharedBuffersMb * 1024) / 8))));
  } else if (storage === "memory") {
    return {};
  }
  return { startParams: params };
}

/**
 * Opens (creating on first use) the embedded profile's database in
 * `{dataDir}/pglite`. PGlite is PostgreSQL compiled to WASM and runs in this
 * process, so `npm start` needs no database server; one process at a time may
 * open a data folder. Its commits are durable when they return (see
 * {@link pgliteOptions}); `onFsync` sees each fsync PostgreSQL makes (tests).
 */
export async function openPglite(
  dataDir: string,
  opts: PgliteStartOptions = {},
  onFsync?: (target: FsyncTarget) => void,
): Promise<PGlite> {
  const dir = join(dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, "PG_VERSION"))) await createDatabase(dir);
  const db = new PGlite({ fs: new SyncingNodeFS(dir, onFsync), ...pgliteOptions(opts, "disk") });
  await db.waitReady;
  return db;
}

/**
 * Runs initdb into `dir` with PGlite's own NodeFS (a SyncingNodeFS cannot, see ./syncing-fs.ts),
 * then syncs what it wrote: PGlite copies the new database into the folder without an fsync.
 */
async function createDatabase(dir: string): Promise<void> {
  const db = new PGlite(dir);
  await db.waitReady;
  await db.close();
  fsyncTree(dir);
}
