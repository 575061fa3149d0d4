import { type FileHandle, open } from "node:fs/promises";

/**
 * One journal segment open for appending, through an async FileHandle so
 * writes and `fdatasync` never block the event loop. The caller serializes
 * calls (the journal's flush loop): one write or sync at a time.
 */
export class SegmentFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private bytes: number,
  ) {}

  /** Creates the file; fails if it exists (segment numbers are never reused). */
  static async create(path: string): Promise<SegmentFile> {
    return new SegmentFile(path, await open(path, "wx"), 0);
  }

  /** Bytes written so far (also the position of the next write). */
  get size(): number {
    return this.bytes;
  }

  /** Writes `data` at the end; loops over short writes, which a full disk can cause. */
  async append(data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.bytes + done);
      if (bytesWritten === 0) throw new Error(`bus journal: no progress writing ${this.path}`);
      done += bytesWritten;
    }
    this.bytes += done;
  }

  /** `fdatasync`: what was appended is on the disk (as far as the disk honours it). */
  async datasync(): Promise<void> {
    await this.handle.datasync();
  }

  /** Cuts the file back to `size` bytes (drops a half-written batch after a failed write). */
  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    this.bytes = size;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
