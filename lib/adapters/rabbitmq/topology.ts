import type { Channel } from "amqplib";
import type { QueueOptions } from "../../ports/bus.js";
import { isReservedHeader } from "../../ports/bus.js";
import { type AmqpConnection, replyCode, withChannel } from "./connection.js";

/**
 * The RabbitMQ layout of one logical queue Q (all on the default exchange):
 *
 *   `{prefix}.Q`        the queue consumers read (durable per options; `x-expires` when expiresMs)
 *   `{prefix}.Q.retry`  failed messages wait here, each with `expiration` = its backoff delay;
 *                       when it expires the queue dead-letters it back to Q
 *                       (`x-dead-letter-exchange: ""`, `x-dead-letter-routing-key: {prefix}.Q`)
 *   `{prefix}.Q.dead`   messages that failed `maxAttempts` times, kept until replayed (durable)
 *
 * RabbitMQ expires per-message TTLs only at the head of a queue, so a retry
 * can wait behind one with a longer delay: retries come back "later", never
 * sooner than their delay (the port promises no more).
 *
 * All three are classic queues or all three quorum queues (`amqp.queueType`;
 * the arguments of each in {@link queueArguments}, the reasons in docs/queues.md).
 */
export interface QueueNames {
  main: string;
  retry: string;
  dead: string;
}

/** Headers the adapter writes: the attempt counter and the reason of a dead letter. */
export const ATTEMPT_HEADER = "x-attempt";
export const LAST_ERROR_HEADER = "x-last-error";

/** Longest `x-last-error` kept; headers share a 64 KiB table with everything else. */
const LAST_ERROR_MAX = 500;

/** Physical names of logical queue `queue` under `prefix`. */
export function queueNames(prefix: string, queue: string): QueueNames {
  if (queue === "" || queue.endsWith(".retry") || queue.endsWith(".dead")) {
    throw new Error(`bus queue name ${JSON.stringify(queue)} is empty or ends in .retry/.dead (reserved)`);
  }
  const main = `${prefix}.${queue}`;
  // AMQP queue names are short strings: at most 255 bytes, suffix included.
  if (Buffer.byteLength(main) + ".retry".length > 255) throw new Error(`bus queue name ${queue} is too long`);
  return { main, retry: `${main}.retry`, dead: `${main}.dead` };
}

/** RabbitMQ queue type of every queue of a bus (config `amqp.queueType`, docs/queues.md). */
export type QueueType = "classic" | "quorum";

/**
 * Redeliveries (a consumer died or its channel closed with the message unacked) after which a
 * quorum queue dead-letters a message to Q.dead instead of handing it out again: a message that
 * kills every consumer it reaches cannot circle forever. Handler failures never count here (they
 * go through Q.retry with the `x-attempt` counter and `maxAttempts`), so only a crash loop gets
 * this far; the message is kept in Q.dead and can be replayed like any dead letter.
 */
export const QUORUM_DELIVERY_LIMIT = 20;

/** The `arguments` of Q, Q.retry and Q.dead for one queue type. */
export function queueArguments(
  names: QueueNames,
  opts: QueueOptions,
  type: QueueType,
): { main: Record<string, unknown>; retry: Record<string, unknown>; dead: Record<string, unknown> } {
  const expires = opts.expiresMs === undefined ? {} : { "x-expires": Math.max(1, Math.ceil(opts.expiresMs)) };
  const back = { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": names.main };
  if (type === "classic")
    return { main: { ...expires }, retry: { ...expires, ...back }, dead: { ...expires } };
  // Quorum (RabbitMQ 3.10+): replicated, always durable. Dead-lettering at least once (the
  // default, at most once, drops a message whose target refuses it), which needs reject-publish
  // overflow; no length limit is set, so that never refuses anything here.
  const quorum = { "x-queue-type": "quorum", ...expires };
  const safely = { "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" };
  return {
    main: {
      ...quorum,
      ...safely,
      "x-delivery-limit": QUORUM_DELIVERY_LIMIT,
      "x-dead-letter-exchange": "",
      "x-dead-letter-routing-key": names.dead,
    },
    // Per-message TTL (`expiration`, the retry delay) works on quorum queues from 3.10 on.
    retry: { ...quorum, ...safely, ...back },
    dead: { ...quorum },
  };
}

/**
 * Declares the three queues of Q; idempotent. A queue that exists with other
 * arguments (another `amqp.queueType` included) fails with a clear error
 * (RabbitMQ answers 406 and closes the channel, so run this on a channel of its
 * own). The retry and dead-letter queues of an expiring queue expire with it: a
 * dead gateway's queues all go. A quorum queue is always durable, whatever
 * `opts.durable` says (RabbitMQ refuses a transient one): on a quorum bus the
 * delivery queues are replicated too, so a broker node's loss loses no push.
 */
export async function declareTopology(
  ch: Channel,
  names: QueueNames,
  opts: QueueOptions,
  type: QueueType = "classic",
): Promise<void> {
  const args = queueArguments(names, opts, type);
  const durable = type === "quorum" || opts.durable;
  try {
    await ch.assertQueue(names.main, { durable, arguments: args.main });
    await ch.assertQueue(names.retry, { durable, arguments: args.retry });
    await ch.assertQueue(names.dead, { durable: true, arguments: args.dead });
  } catch (err) {
    if (replyCode(err) === 406) {
      throw new Error(
        `bus queue ${names.main} already declared with other options (amqp.queueType is ${type}; a queue keeps its type, docs/queues.md): ${message(err)}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** The publisher's headers of a received message: `x-` headers (ours, the broker's) removed. */
export function userHeaders(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (isReservedHeader(name)) continue;
    if (typeof value === "string") out[name] = value;
    else if (Buffer.isBuffer(value)) out[name] = value.toString("utf8");
  }
  return out;
}

/** Attempt number carried by a message (1 when absent, as on first publish). */
export function attemptOf(raw: Record<string, unknown> | undefined): number {
  const n = Number(raw?.[ATTEMPT_HEADER] ?? 1);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

/** The error text stored in `x-last-error`, cut to a bounded length. */
export function lastErrorText(err: unknown): string {
  const text = message(err);
  return text.length > LAST_ERROR_MAX ? `${text.slice(0, LAST_ERROR_MAX)}…` : text;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Deletes the named physical queues (missing ones are fine), each on a channel
 * of its own. For tests on a shared broker, which remove exactly what they
 * created (docs/style.md §6).
 */
export async function deleteQueues(conn: AmqpConnection, names: Iterable<string>): Promise<void> {
  for (const name of names) {
    await withChannel(conn, (ch) => ch.deleteQueue(name)).catch((err: unknown) => {
      if (replyCode(err) !== 404) throw err;
    });
  }
}
