import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Bus, BusConsumer } from "../../../lib/ports/bus.js";
import type { Database } from "../../../lib/ports/db.js";
import { declareStoreQueues, isJobBatch, STORE_QUEUES } from "../../../lib/queues/store-queues.js";
import { IncomingTrace, traceStoreWrite, tracingOn } from "../../../lib/tracing/index.js";
import { BatchWriter } from "./batch-writer.js";
import { type ConsumerCounts, ConsumerMetrics } from "./consumer-metrics.js";
import { startGroupConversationFlusher } from "./group-conversations.js";
import { type DecodedJob, decodeJobs, InvalidJobError, type StoredMessage } from "./jobs.js";
import { writeMessages } from "./message-writer.js";

/** Options of {@link startStoreConsumer}. */
export interface StoreConsumerOptions {
  bus: Bus;
  db: Database;
  logger: Logger;
  /** Jobs per transaction (`store.batchSize`). */
  batchSize: number;
  /** Longest wait for a batch to fill, ms (`store.batchWaitMs`). */
  batchWaitMs: number;
  /** Attempts before a failing job is dead-lettered (`store.maxAttempts`). */
  maxAttempts: number;
  /** Bus retry delay of a failed job, doubled per attempt (default the bus's 200 ms). */
  retryDelayMs?: number;
  /** Where to register the Prometheus counters; absent = plain counts only. */
  registry?: Registry;
  /**
   * `store.groupConversationFlushMs`: how often the members' group conversations follow the
   * groups' new messages (group-conversations.ts); default 1000.
   */
  groupConversationFlushMs?: number;
}

/** The running persistence consumer. */
export interface StoreConsumer {
  /** Counts of one queue so far. */
  counts(queue: keyof typeof STORE_QUEUES): ConsumerCounts;
  /** Stops taking jobs, writes what is in hand, then releases the writers. */
  stop(): Promise<void>;
}

interface Lane {
  consumer: BusConsumer;
  writer: BatchWriter<StoredMessage>;
}

/**
 * The store's persistence consumer (spec §5.9, docs/architecture.md §2 step 3): consumes
 * `store.p2p` and `store.group`, writes batches of jobs in one transaction
 * each (see {@link writeMessages}), and acks every job only after its batch
 * committed. A job that cannot be stored fails alone and goes through the
 * bus's retries to its dead-letter queue; a database outage holds the jobs
 * and retries until the database is back. Every outcome is logged and
 * counted (fixes D32).
 *
 * Prefetch is twice the batch size, so one batch fills while the previous
 * one is written.
 */
export async function startStoreConsumer(opts: StoreConsumerOptions): Promise<StoreConsumer> {
  await declareStoreQueues(opts.bus);
  const metrics = new ConsumerMetrics(opts.registry);
  const lanes: Lane[] = [];
  try {
    lanes.push(await startLane(opts, metrics, "p2p"));
    lanes.push(await startLane(opts, metrics, "group"));
  } catch (err) {
    await Promise.all(lanes.map(stopLane));
    throw err;
  }
  const groups = startGroupConversationFlusher({
    db: opts.db,
    logger: opts.logger,
    intervalMs: opts.groupConversationFlushMs ?? 1_000,
    onMoved: (out) => {
      metrics.add("group", "groupsMoved", out.groups);
      metrics.add("group", "conversationsMoved", out.conversations);
    },
  });
  return {
    counts: (queue) => metrics.snapshot(queue),
    stop: async () => {
      await Promise.all(lanes.map(stopLane));
      // the marks are durable: what this pass does not move, the next store does
      await groups.stop();
    },
  };
}

async function startLane(
  opts: StoreConsumerOptions,
  metrics: ConsumerMetrics,
  name: keyof typeof STORE_QUEUES,
): Promise<Lane> {
  const log = opts.logger.child({ component: "store-consumer", queue: STORE_QUEUES[name] });
  const writer = new BatchWriter<StoredMessage>({
    batchSize: opts.batchSize,
    batchWaitMs: opts.batchWaitMs,
    logger: log,
    write: async (items) => {
      const out = await writeMessages(opts.db, items);
      metrics.add(name, "batches");
      metrics.add(name, "stored", out.stored);
      metrics.add(name, "redelivered", out.redelivered);
      metrics.add(name, "rows", out.rows);
      metrics.add(name, "conflicts", out.conflicts.length);
      for (const m of out.conflicts) {
        log.warn(
          { appId: m.appId, fromId: m.fromId, messageId: m.messageId, messageKey: String(m.messageKey) },
          "message_id already stored under another message_key; the first message wins, job dropped",
        );
      }
      log.debug({ size: items.length, stored: out.stored, rows: out.rows }, "batch committed");
    },
    describe: (m) => ({
      appId: m.appId,
      messageKey: String(m.messageKey),
      messageId: m.messageId,
      fromId: m.fromId,
    }),
    healthy: async () => {
      await opts.db.$queryRaw`SELECT 1`;
      return true;
    },
    onFailure: (kind) =>
      metrics.add(name, kind === "unreachable" ? "unreachable" : kind === "split" ? "splits" : "rejected"),
  });
  const consumer = await opts.bus.consume(
    STORE_QUEUES[name],
    async (msg) => {
      let jobs: DecodedJob[];
      try {
        jobs = decodeJobs(name, msg.body, isJobBatch(msg.headers));
      } catch (err) {
        jobs = [err instanceof InvalidJobError ? err : new InvalidJobError(String(err))];
      }
      // With tracing on, each job's write is a span under its send's span (docs/tracing.md).
      const trace = tracingOn() ? new IncomingTrace((header) => msg.headers[header]) : undefined;
      // A batch settles as a unit (store_job.proto): its good jobs are written
      // even when one is bad, and a retry finds them stored.
      const written = await Promise.allSettled(
        jobs.flatMap((job, index) => {
          if (job instanceof InvalidJobError) return [];
          if (trace === undefined) return [writer.add(job)];
          const facts = {
            queue: STORE_QUEUES[name],
            appId: job.appId,
            messageKey: job.messageKey,
            batchSize: jobs.length,
            attempt: msg.attempt,
          };
          return [traceStoreWrite(trace.item(index), facts, () => writer.add(job))];
        }),
      );
      const invalid = jobs.find((job) => job instanceof InvalidJobError);
      if (invalid !== undefined) {
        metrics.add(name, "invalid");
        log.error(
          { err: invalid.message, attempt: msg.attempt, jobs: jobs.length },
          "invalid persistence job; failing its bus message for retry / dead letter",
        );
        throw invalid;
      }
      const failed = written.find((result) => result.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    },
    { prefetch: opts.batchSize * 2, maxAttempts: opts.maxAttempts, retryDelayMs: opts.retryDelayMs },
  );
  return { consumer, writer };
}

async function stopLane(lane: Lane): Promise<void> {
  const stopping = lane.consumer.stop(); // takes no new jobs, waits for the ones in hand
  lane.writer.flush(); // ...which are written now instead of after batchWaitMs
  await stopping;
  await lane.writer.close();
}
