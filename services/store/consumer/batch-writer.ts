import type { Logger } from "pino";

/** Options of {@link BatchWriter}. */
export interface BatchWriterOptions<T> {
  /** Items written per call of `write` at most. */
  batchSize: number;
  /** Longest wait for a batch to fill before it is written anyway (ms). */
  batchWaitMs: number;
  /** Writes one batch atomically: all of it, or none of it. */
  write(items: T[]): Promise<void>;
  /**
   * Whether the database answers at all. Decides what a failed batch means:
   * unreachable → wait and write the same batch again (nothing is failed);
   * reachable → the batch holds a bad item, so it is split to find it.
   */
  healthy(): Promise<boolean>;
  logger: Logger;
  /** Called for every failed write, with what happens next. */
  onFailure?(kind: "unreachable" | "split" | "rejected", size: number, err: unknown): void;
  /** Identifies an item in the log line of its failure (never its payload). */
  describe?(item: T): Record<string, unknown>;
  /** First and longest wait between attempts while the database is unreachable (ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects items into batches of `batchSize` (or whatever arrived within
 * `batchWaitMs`) and writes one batch at a time. Each `add` settles only with
 * its batch: it resolves after the batch committed, so a bus message is acked
 * only once its rows are durable.
 *
 * Failures are never swallowed (fixes D32):
 * - database unreachable: the batch is kept and written again with backoff
 *   until it succeeds or the writer is closed, so an outage loses nothing
 *   and burns no bus attempts;
 * - database reachable: the batch is split in halves and each half written
 *   on its own, down to single items, so the rest commits and only the bad
 *   item's `add` rejects (the bus then retries it and dead-letters it).
 */
export class BatchWriter<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: BatchWriterOptions<T>) {}

  /** Adds one item; settles when its batch committed (or with the item's own failure). */
  add(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error("batch writer is closed"));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.batchSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.batchWaitMs);
    });
  }

  /** Writes what is pending now instead of waiting for the batch to fill. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.batchSize);
      // one batch at a time: a transaction's rows are durable before the next
      // starts, and an outage stalls the queue instead of piling up retries
      this.queue = this.queue.then(() => this.writeOrSplit(batch));
    }
  }

  /**
   * Stops retrying: what is still pending or waiting for the database fails
   * with "closed" (its bus messages are redelivered later). Call after the bus
   * consumer stopped, which already waited for the in-flight batches.
   */
  async close(): Promise<void> {
    this.closed = true;
    const left = this.pending.splice(0);
    clearTimeout(this.timer);
    for (const p of left) p.reject(new Error("batch writer closed before the item was written"));
    await this.queue;
  }

  private async writeOrSplit(batch: Pending<T>[]): Promise<void> {
    let delay = this.opts.retryMinMs ?? 100;
    for (;;) {
      if (this.closed) {
        const err = new Error("batch writer closed before the batch was written");
        for (const p of batch) p.reject(err);
        return;
      }
      try {
        await this.opts.write(batch.map((p) => p.item));
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (!(await this.isHealthy())) {
          this.opts.onFailure?.("unreachable", batch.length, err);
          this.opts.logger.warn(
            { error: summary(err), size: batch.length, retryInMs: delay },
            "database unreachable; batch kept for retry",
          );
          await sleep(delay);
          delay = Math.min(delay * 2, this.opts.retryMaxMs ?? 5_000);
          continue;
        }
        if (batch.length === 1) {
          this.opts.onFailure?.("rejected", 1, err);
          const item = batch[0] === undefined ? undefined : this.opts.describe?.(batch[0].item);
          // One line per attempt: the cause and the item's ids. The whole error (stack, Prisma's
          // quoted call) was ~2–15 KB per attempt of a row the database will never take.
          this.opts.logger.error(
            { error: summary(err), item },
            "item failed on a healthy database; failing it for retry / dead letter",
          );
          batch[0]?.reject(err);
          return;
        }
        this.opts.onFailure?.("split", batch.length, err);
        this.opts.logger.warn(
          { error: summary(err), size: batch.length },
          "batch failed on a healthy database; splitting it",
        );
        const half = Math.ceil(batch.length / 2);
        await this.writeOrSplit(batch.slice(0, half));
        await this.writeOrSplit(batch.slice(half));
        return;
      }
    }
  }

  private async isHealthy(): Promise<boolean> {
    try {
      return await this.opts.healthy();
    } catch {
      return false;
    }
  }
}

/** Longest error message kept in a log line: PostgreSQL's can quote a value (e.g. 22P02). */
const MAX_MESSAGE = 300;

/**
 * A one-line view of a write error, for every failure the writer logs (under
 * `error`: pino's `err` serializer would rename its `type`):
 * Prisma's messages quote the calling code over many lines (the last one is
 * the cause), and no stack or payload belongs in a line repeated per attempt.
 * `sqlState` is PostgreSQL's SQLSTATE when the error carries one (22021: a
 * NUL in text, 22001: a value longer than its column, 23505: a duplicate).
 */
function summary(err: unknown): { type: string; code?: string; sqlState?: string; message: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err).slice(0, MAX_MESSAGE) };
  const lines = err.message.split("\n").filter((l) => l.trim() !== "");
  const code = (err as { code?: unknown }).code;
  const sqlState = sqlStateOf(err);
  return {
    type: err.name,
    ...(typeof code === "string" ? { code } : {}),
    ...(sqlState === undefined ? {} : { sqlState }),
    message: (lines[lines.length - 1] ?? "").slice(0, MAX_MESSAGE),
  };
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The SQLSTATE of a database error: the db port's DbError carries it as `sqlState`; the errors it
 * passes on untranslated (PostgreSQL and PGlite alike) as `meta.driverAdapterError.cause.originalCode`,
 * a `pg` error as its `code` (a Prisma error's own `code` is Prisma's, e.g. P2010, not a SQLSTATE).
 */
function sqlStateOf(err: Error): string | undefined {
  const e = err as {
    code?: unknown;
    sqlState?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
  };
  const cause = e.meta?.driverAdapterError?.cause;
  const own = err.name.startsWith("Prisma") ? undefined : e.code;
  for (const candidate of [e.sqlState, cause?.originalCode, cause?.code, own]) {
    if (typeof candidate === "string" && SQLSTATE.test(candidate)) return candidate;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
