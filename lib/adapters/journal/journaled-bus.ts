import type { Logger } from "pino";
import type { Bus, BusConsumer, BusMessage, ConsumeOptions, QueueOptions } from "../../ports/bus.js";
import { consumeDefaults, isReservedHeader } from "../../ports/bus.js";
import { Journal, type PendingMessage } from "./journal.js";

/**
 * The header carrying a journaled message's id from `publish` to the consumer
 * wrapper. Not `x-`: the inner bus refuses those. Handlers never see it, and a
 * publisher may not set it.
 */
export const JOURNAL_ID_HEADER = "journal-id";

/** Options of {@link JournaledBus.open}. */
export interface JournaledBusOptions {
  /** The journal's directory (embedded: `<dataDir>/bus-journal`). */
  dir: string;
  /** The bus that does the delivering (embedded: MemoryBus). */
  inner: Bus;
  logger: Logger;
  /** Segment size bound before compaction (default 16 MiB; tests use small ones). */
  maxSegmentBytes?: number;
}

/** Where the replay of the journal's pending messages stands (see {@link JournaledBus.whenReplayed}). */
export interface ReplayProgress {
  /** Messages found unfinished in the journal at open, published again as their queues are declared. */
  replayed: number;
  /** Of those, how many are not yet finished (neither acked nor dead-lettered). */
  pending: number;
  /** Of those, how many failed every attempt and went to the dead-letter queue (again). */
  deadLettered: number;
}

/**
 * Makes durable queues of any bus durable on disk (docs/architecture.md §3: the embedded
 * profile's "log replayed at start"). For a queue declared `durable: true`,
 * `publish` first appends the message to an fdatasync'ed journal (journal.ts,
 * group commit) and only then hands it to the inner bus, so it resolves, as
 * the port demands, once the message survives a crash of the process (and of
 * the OS, as far as the disk honours fdatasync). Non-durable queues (gateway
 * delivery) pass straight through.
 *
 * A consumer's handler that resolves finishes its message: an ACK record is
 * appended. A message whose handler never resolved before a crash is replayed
 * into the inner bus when its queue is next declared: delivery stays at least
 * once. A message dead-lettered by the inner bus stays unfinished in the
 * journal, so in the embedded profile dead letters are retried at the next
 * start instead of being lost with the process.
 */
export class JournaledBus implements Bus {
  /** Declared queues: durable or not. */
  private readonly durable = new Map<string, boolean>();
  /** Pending messages from the journal by queue, until their queue is declared durable. */
  private readonly toReplay = new Map<string, PendingMessage[]>();
  /** Ids of replayed messages not yet finished. */
  private readonly replaying = new Set<number>();
  private readonly replayedTotal: number;
  private deadLettered = 0;
  private replayDone: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly inner: Bus,
    private readonly journal: Journal,
    private readonly logger: Logger,
    pending: PendingMessage[],
  ) {
    for (const message of pending) {
      const list = this.toReplay.get(message.queue) ?? [];
      list.push(message);
      this.toReplay.set(message.queue, list);
      this.replaying.add(message.id);
    }
    this.replayedTotal = pending.length;
  }

  /** Opens the journal in `dir` (reading what a previous run left) around `inner`. */
  static async open(opts: JournaledBusOptions): Promise<JournaledBus> {
    const logger = opts.logger.child({ component: "bus-journal" });
    const { journal, pending } = await Journal.open({
      dir: opts.dir,
      logger,
      maxSegmentBytes: opts.maxSegmentBytes,
    });
    if (pending.length > 0)
      logger.info({ pending: pending.length }, "bus journal: unfinished messages to replay");
    return new JournaledBus(opts.inner, journal, logger, pending);
  }

  async declareQueue(queue: string, opts: QueueOptions): Promise<void> {
    this.ensureOpen();
    await this.inner.declareQueue(queue, opts);
    this.durable.set(queue, opts.durable);
    const pending = this.toReplay.get(queue);
    if (pending === undefined) return;
    if (!opts.durable) {
      this.logger.warn(
        { queue, pending: pending.length },
        "bus journal: queue now non-durable; not replayed",
      );
      return;
    }
    this.toReplay.delete(queue);
    // Into the inner bus only: these are in the journal already, under their ids.
    for (const m of pending) {
      await this.inner.publish(queue, m.body, { ...m.headers, [JOURNAL_ID_HEADER]: String(m.id) });
    }
    this.logger.info({ queue, messages: pending.length }, "bus journal: replayed");
  }

  async publish(queue: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    this.ensureOpen();
    for (const name of Object.keys(headers)) {
      // Checked before journaling: a message the inner bus refuses must not be replayed forever.
      if (isReservedHeader(name)) throw new Error(`bus header ${name}: names starting with x- are reserved`);
      if (name.toLowerCase() === JOURNAL_ID_HEADER) {
        throw new Error(`bus header ${name}: reserved for the bus journal`);
      }
    }
    if (this.durable.get(queue) !== true) return this.inner.publish(queue, body, headers);
    const copy = body.slice(); // the caller may reuse its buffer while the journal syncs
    const id = await this.journal.append(queue, copy, headers);
    try {
      await this.inner.publish(queue, copy, { ...headers, [JOURNAL_ID_HEADER]: String(id) });
    } catch (err) {
      this.journal.ack(id); // not taken: the caller sees the failure, the journal forgets it
      throw err;
    }
  }

  async consume(
    queue: string,
    handler: (msg: BusMessage) => Promise<void>,
    opts?: ConsumeOptions,
  ): Promise<BusConsumer> {
    this.ensureOpen();
    const { maxAttempts } = consumeDefaults(opts);
    return this.inner.consume(
      queue,
      async (msg) => {
        const journalId = msg.headers[JOURNAL_ID_HEADER];
        if (journalId === undefined) return handler(msg);
        const { [JOURNAL_ID_HEADER]: _, ...headers } = msg.headers;
        const id = Number(journalId);
        try {
          await handler({ ...msg, headers });
        } catch (err) {
          // The inner bus dead-letters after the last attempt (bus.ts); the journal keeps it unfinished.
          if (msg.attempt >= maxAttempts) this.settled(id, "dead");
          throw err;
        }
        this.journal.ack(id);
        this.settled(id, "done");
      },
      opts,
    );
  }

  replayDeadLetters(queue: string): Promise<number> {
    return this.inner.replayDeadLetters(queue);
  }

  depth(queue: string): Promise<{ ready: number; dead: number }> {
    return this.inner.depth(queue);
  }

  /**
   * Resolves once every message replayed from the journal at open is finished
   * (acked, or dead-lettered after its attempts), or after `timeoutMs`, with a
   * warning naming how many are still open. The embedded runner waits for it
   * before the domain starts, so a replayed job is in the database before a
   * resend of its message is checked against the database.
   */
  async whenReplayed(timeoutMs: number): Promise<ReplayProgress> {
    if (this.replaying.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        const previous = this.replayDone;
        this.replayDone = () => {
          previous?.();
          resolve();
        };
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      clearTimeout(timer);
    }
    const progress = this.progress();
    if (progress.pending > 0) {
      this.logger.warn(
        { ...progress, timeoutMs },
        "bus journal: replayed messages still unfinished after the wait",
      );
    }
    return progress;
  }

  /** Closes the inner bus (in-flight handlers finish and ack), then writes the last ACKs and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.inner.close();
    } finally {
      await this.journal.close();
    }
  }

  private progress(): ReplayProgress {
    return { replayed: this.replayedTotal, pending: this.replaying.size, deadLettered: this.deadLettered };
  }

  private settled(id: number, how: "done" | "dead"): void {
    if (!this.replaying.delete(id)) return;
    if (how === "dead") this.deadLettered++;
    if (this.replaying.size === 0) this.replayDone?.();
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error("bus is closed");
  }
}
