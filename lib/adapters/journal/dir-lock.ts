import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A held {@link lockDir} lock. */
export interface DirLock {
  /** Removes the lock file (if it is still ours). */
  release(): Promise<void>;
}

/**
 * Claims `dir` for this process through a `LOCK` file holding its pid. Two
 * journals on one directory would compact away each other's segments (e.g. a
 * lone `whaleshark gateway` started on the data folder of a running
 * `whaleshark start`), so a second claimant fails while the holder lives. A
 * lock left by a killed process is taken over: its pid no longer runs, or it
 * is our own pid (a container restarts its process as pid 1 again).
 */
export async function lockDir(dir: string): Promise<DirLock> {
  const path = join(dir, "LOCK");
  const mine = String(process.pid);
  try {
    const handle = await open(path, "wx");
    try {
      await handle.writeFile(mine);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const holder = Number((await readFile(path, "utf8")).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
      throw new Error(`bus journal ${dir} is in use by process ${holder} (remove ${path} if it is not)`);
    }
    await writeFile(path, mine);
  }
  return {
    async release() {
      const holder = await readFile(path, "utf8").catch(() => "");
      if (holder.trim() === mine) await rm(path, { force: true });
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}
