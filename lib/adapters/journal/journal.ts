import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { type DirLock, lockDir } from "./dir-lock.js";
import { encodeAck, encodePub, type PubRecord } from "./record-codec.js";
import {
  listSegments,
  readSegment,
  removeSegments,
  type SegmentName,
  segmentPath,
  syncDir,
} from "./segment-dir.js";
import { SegmentFile } from "./segment-file.js";

/** Options of {@link Journal.open}. */
export interface JournalOptions {
  /** The journal's own directory (created if missing; embedded: `<dataDir>/bus-journal`). */
  dir: string;
  logger: Logger;
  /**
   * Size after which the next write starts a new segment holding only the live
   * entries, and the older segments are deleted (default 16 MiB). When the live
   * entries alone are larger, the bound grows to twice their size, so a backlog
   * is not rewritten on every write.
   */
  maxSegmentBytes?: number;
}

/** A message of the journal that no consumer has finished (yet). */
export type PendingMessage = Omit<PubRecord, "kind">;

interface QueuedPub {
  id: number;
  frame: Buffer;
  resolve(id: number): void;
  reject(err: Error): void;
}

interface Batch {
  frames: Buffer[];
  pubs: QueuedPub[];
}

const DEFAULT_MAX_SEGMENT_BYTES = 16 * 1024 * 1024;

/**
 * The append-only, checksummed log behind {@link JournaledBus}: PUB records of
 * published messages and ACK records of finished ones, in numbered segment
 * files (format in record-codec.ts).
 *
 * - {@link append} resolves only after the record is written and `fdatasync`ed.
 *   Group commit: everything queued within one event-loop turn, or while a
 *   flush runs, goes out in one write and one `fdatasync`.
 * - {@link ack} is written without a sync. A lost ACK (power loss) only means
 *   the message is delivered again after a restart, which at-least-once
 *   delivery allows; a lost PUB would be a lost message, hence the sync.
 * - Compaction: the journal keeps the live entries (published, not acked) in
 *   memory; once the current segment passes `maxSegmentBytes`, a new segment
 *   receives them all (written and synced), then the older segments are
 *   deleted. Opening compacts too. The files stay bounded under steady load.
 *
 * One process at a time: the directory is locked (dir-lock.ts).
 */
export class Journal {
  private syncCount = 0;
  private readonly live = new Map<number, Buffer>();
  private queued: Batch = { frames: [], pubs: [] };
  private flushing: Promise<void> | undefined;
  /** Set after a failed write: the next flush starts a fresh segment. */
  private broken = false;
  private closed = false;
  private rollAt = 0;

  private constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    private readonly maxSegmentBytes: number,
    private readonly lock: DirLock,
    private segments: SegmentName[],
    private file: SegmentFile | undefined,
    private nextId: number,
  ) {}

  /**
   * Opens (or creates) the journal in `dir`: reads every segment (a torn tail
   * is cut off), compacts the live entries into a new segment and deletes the
   * old ones. Resolves with the journal and its pending messages, oldest first.
   */
  static async open(opts: JournalOptions): Promise<{ journal: Journal; pending: PendingMessage[] }> {
    await mkdir(opts.dir, { recursive: true });
    const lock = await lockDir(opts.dir);
    try {
      const segments = await listSegments(opts.dir);
      const live = new Map<number, PubRecord>();
      let maxId = 0;
      for (const segment of segments) {
        for (const record of await readSegment(segment, opts.logger)) {
          // Ids are never reused while a record names them: new ids start above every id on disk.
          maxId = Math.max(maxId, record.id);
          if (record.kind === "pub") live.set(record.id, record);
          else live.delete(record.id);
        }
      }
      const pending = [...live.values()].sort((a, b) => a.id - b.id);
      const journal = new Journal(
        opts.dir,
        opts.logger,
        opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
        lock,
        segments,
        undefined,
        maxId + 1,
      );
      for (const p of pending) journal.live.set(p.id, encodePub(p));
      await journal.roll();
      opts.logger.info(
        { dir: opts.dir, segmentsRead: segments.length, pending: pending.length },
        "bus journal opened",
      );
      return { journal, pending: pending.map(({ kind: _kind, ...message }) => message) };
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  /** fdatasyncs of publish batches so far (tests: group commit). */
  get syncs(): number {
    return this.syncCount;
  }

  /** Appends a PUB record; resolves with the message's id once the record is on disk. */
  append(queue: string, body: Uint8Array, headers: Record<string, string>): Promise<number> {
    if (this.closed) return Promise.reject(new Error("bus journal is closed"));
    const id = this.nextId++;
    let frame: Buffer;
    try {
      frame = encodePub({ id, queue, body, headers });
    } catch (err) {
      return Promise.reject(err); // too large to journal
    }
    return new Promise<number>((resolve, reject) => {
      this.queued.frames.push(frame);
      this.queued.pubs.push({ id, frame, resolve, reject });
      this.kick();
    });
  }

  /** Marks message `id` finished (or withdrawn): it is dropped at the next compaction. Not synced. */
  ack(id: number): void {
    if (this.closed || !this.live.delete(id)) return;
    this.queued.frames.push(encodeAck(id));
    this.kick();
  }

  /** Writes what is queued (ACKs included), then closes the file and releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing !== undefined) await this.flushing;
    this.closed = true;
    await this.file?.close().catch((err: unknown) => this.logger.warn({ err }, "bus journal: close failed"));
    await this.lock.release().catch(() => undefined);
  }

  private kick(): void {
    if (this.flushing !== undefined) return; // the running flush takes it next
    // One event-loop turn first, so the publishes of this turn share a write and a sync.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushAll())
      .catch((err: unknown) => this.logger.error({ err }, "bus journal: flush failed"))
      .finally(() => {
        this.flushing = undefined;
        // Queued after the loop's last look (between its check and this callback).
        if (this.queued.frames.length > 0) this.kick();
      });
  }

  private async flushAll(): Promise<void> {
    while (this.queued.frames.length > 0) {
      const batch = this.queued;
      this.queued = { frames: [], pubs: [] };
      await this.flush(batch);
    }
  }

  private async flush(batch: Batch): Promise<void> {
    try {
      if (this.broken || (this.file?.size ?? 0) >= this.rollAt) await this.roll();
      const file = this.file as SegmentFile;
      const start = file.size;
      try {
        await file.append(Buffer.concat(batch.frames));
        if (batch.pubs.length > 0) {
          await file.datasync();
          this.syncCount++;
        }
      } catch (err) {
        // After a failed write or sync the file's state is unknown: cut the batch off and
        // move to a new segment, which starts from the live entries in memory.
        this.broken = true;
        await file.truncate(start).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      this.logger.error({ err, messages: batch.pubs.length }, "bus journal: write failed");
      const failure = new Error(`bus journal: write failed: ${(err as Error).message}`, { cause: err });
      for (const p of batch.pubs) p.reject(failure);
      return;
    }
    for (const p of batch.pubs) {
      this.live.set(p.id, p.frame);
      p.resolve(p.id);
    }
  }

  /**
   * Starts a new segment with every live entry (written and synced, its name
   * synced in the directory), then deletes the older segments. A crash in
   * between leaves both, which reads back the same: a PUB read twice is one
   * entry, and ACKs follow their PUB in file order.
   */
  private async roll(): Promise<void> {
    const frames = [...this.live.values()];
    const number = (this.segments.at(-1)?.number ?? 0) + 1;
    const next = { number, path: segmentPath(this.dir, number) };
    const file = await SegmentFile.create(next.path);
    try {
      if (frames.length > 0) await file.append(Buffer.concat(frames));
      await file.datasync();
      await syncDir(this.dir);
    } catch (err) {
      await file.close().catch(() => undefined);
      await removeSegments([next]).catch(() => undefined);
      throw err;
    }
    const older = this.segments;
    const previous = this.file;
    this.segments = [...older, next]; // until they are deleted: the next roll tries again
    this.file = file;
    this.broken = false;
    this.rollAt = Math.max(this.maxSegmentBytes, 2 * file.size);
    await previous?.close().catch(() => undefined);
    try {
      await removeSegments(older);
      this.segments = [next];
      await syncDir(this.dir);
    } catch (err) {
      // A leftover segment only repeats what the new one holds; the next roll deletes it.
      this.logger.warn({ err }, "bus journal: could not delete old segments");
    }
    this.logger.debug(
      { segment: next.path, live: frames.length, bytes: file.size },
      "bus journal: new segment",
    );
  }
}
