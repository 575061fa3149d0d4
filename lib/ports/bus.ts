/**
 * The bus port: durable work queues (persistence jobs) and per-node delivery
 * queues (gateway fan-out), docs/architecture.md §2–§4.
 *
 * Semantics every adapter keeps (checked by `bus.contract.ts`):
 * - Point-to-point queues addressed by logical name; the adapter adds its own
 *   prefix (`amqp.prefix`). Competing consumers share a queue's messages.
 * - `publish` resolves only once the broker holds the message (RabbitMQ:
 *   publisher confirm, persistent on a durable queue), so a caller may ACK a
 *   user only after it resolves. It rejects when the broker did not take it.
 * - Delivery is at least once. A handler that resolves acks its message; one
 *   that throws has it retried after `retryDelayMs` (doubling each attempt),
 *   and after `maxAttempts` attempts it moves to the queue's dead-letter queue,
 *   where it is counted, kept and can be replayed. Nothing is dropped silently.
 * - Order: messages of one queue reach one consumer in publish order while no
 *   retry happens (prefetch > 1 lets handlers overlap; a retried message comes
 *   back later). Callers that need order use sequences, not the bus.
 * - Header names starting with `x-` belong to the adapter (attempt counter,
 *   last error, broker bookkeeping): `publish` rejects them, and handlers see
 *   only the headers the publisher set.
 * - A consumer that stops (or dies) without settling a message does not lose
 *   it: the message goes back to the queue and is redelivered with the same
 *   attempt number (RabbitMQ: the channel closes unacked; memory: `stop()`
 *   gives up waiting after `drainTimeoutMs`).
 * - The memory adapter lives and dies with its process; the embedded profile
 *   wraps it in the journal (lib/adapters/journal), which makes its durable
 *   queues survive a crash (publish resolves after an fdatasync).
 * Deliberately absent: topics and broadcast (a publisher addresses each
 * node's queue itself), priorities, transactions.
 */
export interface Bus {
  /** Creates the queue (and its retry and dead-letter queues) if missing. Idempotent. */
  declareQueue(queue: string, opts: QueueOptions): Promise<void>;
  /** Publishes one message; see the delivery guarantee above. The queue must be declared. */
  publish(queue: string, body: Uint8Array, headers?: Record<string, string>): Promise<void>;
  /** Starts consuming; `handler` settles each message as described above. */
  consume(
    queue: string,
    handler: (msg: BusMessage) => Promise<void>,
    opts?: ConsumeOptions,
  ): Promise<BusConsumer>;
  /** Moves every dead-lettered message of `queue` back onto it; resolves with how many. */
  replayDeadLetters(queue: string): Promise<number>;
  /** Messages ready in the queue (not counting those in flight), and in its dead-letter queue. */
  depth(queue: string): Promise<{ ready: number; dead: number }>;
  /** Stops every consumer (in-flight handlers finish first) and releases connections. */
  close(): Promise<void>;
}

/** How a queue lives. */
export interface QueueOptions {
  /** Survives a broker restart and keeps messages while nobody consumes (persistence jobs). */
  durable: boolean;
  /**
   * Deletes the queue after it has had no consumer for this long (a dead
   * gateway's delivery queue). Absent = never.
   */
  expiresMs?: number;
}

/** One received message. */
export interface BusMessage {
  queue: string;
  body: Uint8Array;
  headers: Record<string, string>;
  /** 1 on first delivery, 2 on the first retry, ... */
  attempt: number;
}

/** Consumer settings. */
export interface ConsumeOptions {
  /** Most messages handed to handlers at once (default 1). */
  prefetch?: number;
  /** Attempts before dead-lettering (default 5). */
  maxAttempts?: number;
  /** Delay before the first retry in ms, doubled per attempt (default 200). */
  retryDelayMs?: number;
  /**
   * How long `stop()` waits for in-flight handlers (default 10 000 ms). Messages
   * whose handlers are still running then go back to the queue for another
   * consumer; a late outcome of such a handler is ignored. Bounds shutdown when
   * a handler hangs.
   */
  drainTimeoutMs?: number;
}

/** Fills in the documented defaults of {@link ConsumeOptions}; rejects nonsense (prefetch 0, ...). */
export function consumeDefaults(opts: ConsumeOptions = {}): Required<ConsumeOptions> {
  const resolved = {
    prefetch: opts.prefetch ?? 1,
    maxAttempts: opts.maxAttempts ?? 5,
    retryDelayMs: opts.retryDelayMs ?? 200,
    drainTimeoutMs: opts.drainTimeoutMs ?? 10_000,
  };
  if (!Number.isInteger(resolved.prefetch) || resolved.prefetch < 1) {
    throw new RangeError(`bus: prefetch must be an integer >= 1, got ${resolved.prefetch}`);
  }
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new RangeError(`bus: maxAttempts must be an integer >= 1, got ${resolved.maxAttempts}`);
  }
  for (const name of ["retryDelayMs", "drainTimeoutMs"] as const) {
    if (!Number.isFinite(resolved[name]) || resolved[name] < 0) {
      throw new RangeError(`bus: ${name} must be >= 0, got ${resolved[name]}`);
    }
  }
  return resolved;
}

/** True for header names the adapters keep for themselves (`x-...`, case-insensitive). */
export function isReservedHeader(name: string): boolean {
  return name.toLowerCase().startsWith("x-");
}

/** A running consumer. */
export interface BusConsumer {
  /**
   * Stops taking messages and waits for in-flight handlers to settle (at most
   * `drainTimeoutMs`; see there). Idempotent.
   */
  stop(): Promise<void>;
}
