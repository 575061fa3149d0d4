/**
 * The bus port: durable work queues (persistence jobs) and per-node delivery
 * queues (gateway fan-out), DESIGN.md §2–§4.
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
 * - The memory adapter lives and dies with its process (embedded profile only).
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
}

/** A running consumer. */
export interface BusConsumer {
  /** Stops taking messages and waits for in-flight handlers to settle. */
  stop(): Promise<void>;
}
