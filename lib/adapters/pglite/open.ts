import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

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

/** PGlite's constructor options for {@link PgliteStartOptions}. */
export function pgliteOptions(opts: PgliteStartOptions): { startParams?: string[] } {
  if (opts.sharedBuffersMb === undefined) return {};
  // `-B` takes 8 kB buffers; PGlite's defaults are kept and this one added after them.
  const buffers = Math.max(16, Math.round((opts.sharedBuffersMb * 1024) / 8));
  return { startParams: [...PGlite.defaultStartParams, "-B", String(buffers)] };
}

/**
 * Opens (creating on first use) the embedded profile's database in
 * `{dataDir}/pglite`. PGlite is PostgreSQL compiled to WASM and runs in this
 * process, so `npm start` needs no database server; one process at a time may
 * open a data folder.
 */
export async function openPglite(dataDir: string, opts: PgliteStartOptions = {}): Promise<PGlite> {
  const dir = join(dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  const db = new PGlite(dir, pgliteOptions(opts));
  await db.waitReady;
  return db;
}
