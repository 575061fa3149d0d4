import { closeSync, fsyncSync, openSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";

/** What an fsync reaches: a regular file's open descriptor, or a directory by its host path. */
export type FsyncTarget = { fd: number } | { dir: string };

/** The part of Emscripten's NODEFS the fsync below uses (not in PGlite's types). */
interface Nodefs {
  stream_ops: { fsync?: (stream: NodefsStream) => number };
  realPath(node: unknown): string;
  tryFSOperation<T>(f: () => T): T;
}
interface NodefsStream {
  nfd?: number;
  node: unknown;
}

/**
 * PGlite's NodeFS whose `fsync` reaches the disk.
 *
 * PostgreSQL's fsync() ends in Emscripten's `fd_sync`, which calls the stream's `fsync` operation
 * and succeeds without one; NODEFS has none, so with PGlite's NodeFS every fsync is a no-op even
 * with `fsync` on (strace counts no fsync syscall). This one gives NODEFS that
 * operation: `fs.fsyncSync` on the file's host descriptor, or on the directory, which NODEFS opens
 * without a host descriptor. A host error is thrown as NODEFS throws its own (an errno), so
 * PostgreSQL sees a failed fsync and stops rather than going on as if the data were safe.
 *
 * fdatasync stays a no-op (Emscripten answers it without asking the file system), hence
 * `wal_sync_method=fsync` in ./open.ts. `onFsync` sees every fsync (tests).
 *
 * Must not be passed for a folder without a database: PGlite hands the same file system to the
 * instance that runs initdb, which then writes into the folder and the copy fails (./open.ts
 * creates the database with PGlite's own NodeFS first).
 */
export class SyncingNodeFS extends NodeFS {
  constructor(
    dataDir: string,
    private readonly onFsync?: (target: FsyncTarget) => void,
  ) {
    super(dataDir);
  }

  override async init(pg: PGlite, opts: Parameters<NodeFS["init"]>[1]) {
    const { emscriptenOpts } = await super.init(pg, opts);
    const preRun = [
      ...(emscriptenOpts.preRun ?? []),
      (mod: { FS: { filesystems: { NODEFS: unknown } } }) => {
        const nodefs = mod.FS.filesystems.NODEFS as Nodefs;
        nodefs.stream_ops.fsync = (stream) => {
          nodefs.tryFSOperation(() => {
            if (stream.nfd !== undefined) {
              this.onFsync?.({ fd: stream.nfd });
              fsyncSync(stream.nfd);
            } else {
              const dir = nodefs.realPath(stream.node);
              this.onFsync?.({ dir });
              fsyncPath(dir);
            }
          });
          return 0;
        };
      },
    ];
    return { emscriptenOpts: { ...emscriptenOpts, preRun } };
  }
}

/**
 * fsyncs every file and folder under `dir`, then `dir`'s parent: what PGlite wrote without an
 * fsync (it copies a new database into the folder without one) reaches the disk, and the folder's
 * own entry too.
 */
export function fsyncTree(dir: string): void {
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) fsyncPath(path);
    }
    fsyncPath(d);
  };
  walk(dir);
  fsyncPath(dirname(dir));
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
