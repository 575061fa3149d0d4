import type { Bus } from "../ports/bus.js";

/**
 * The bus queues of persistence jobs (proto/whaleshark/v1/store_job.proto):
 * the domain publishes, the store consumes. Durable, so jobs wait through a
 * store restart. The bus adds its own prefix (`amqp.prefix`).
 */
export const STORE_QUEUES = {
  /** StoreP2PMessageJob, one per accepted P2P message. */
  p2p: "store.p2p",
  /** StoreGroupMessageJob, one per accepted group message. */
  group: "store.group",
} as const;

/**
 * The header of a bus message that carries several jobs of its queue
 * (StoreP2PMessageJobs / StoreGroupMessageJobs, store_job.proto); a message
 * without it is one job.
 */
export const BATCH_HEADERS: Readonly<Record<string, string>> = Object.freeze({ jobs: "batch" });

/** Whether a persistence bus message carries a batch of jobs (see {@link BATCH_HEADERS}). */
export function isJobBatch(headers: Record<string, string>): boolean {
  return headers.jobs === BATCH_HEADERS.jobs;
}

/** Declares both persistence queues (idempotent; publishers may call it too). */
export async function declareStoreQueues(bus: Bus): Promise<void> {
  await bus.declareQueue(STORE_QUEUES.p2p, { durable: true });
  await bus.declareQueue(STORE_QUEUES.group, { durable: true });
}

/**
 * Moves every dead-lettered persistence job back onto its queue (after the
 * cause was fixed, e.g. a column widened); resolves with how many per queue.
 * Jobs that still fail return to the dead-letter queue after their attempts.
 */
export async function replayStoreDeadLetters(bus: Bus): Promise<{ p2p: number; group: number }> {
  await declareStoreQueues(bus);
  return {
    p2p: await bus.replayDeadLetters(STORE_QUEUES.p2p),
    group: await bus.replayDeadLetters(STORE_QUEUES.group),
  };
}
