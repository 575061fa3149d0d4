import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

/**
 * Opens (creating on first use) the embedded profile's database in
 * `{dataDir}/pglite`. PGlite is PostgreSQL compiled to WASM and runs in this
 * process, so `npm start` needs no database server; one process at a time may
 * open a data folder.
 */
export async function openPglite(dataDir: string): Promise<PGlite> {
  const dir = join(dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  const db = new PGlite(dir);
  await db.waitReady;
  return db;
}
