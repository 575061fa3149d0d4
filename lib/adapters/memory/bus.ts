import type { Bus, BusConsumer, BusMessage, ConsumeOptions, QueueOptions } from "../../ports/bus.js";
import { consumeDefaults, isReservedHeader } from "../../ports/bus.js";
import { type Envelope, MemoryQueue, type QueueConsumer, toMessage } from "./bus-queue.js";

type Handler = (msg: BusMessage) => Promise<void>;

/**
 * The bus port in process memory, for the embedded profile and tests. Same
 * semantics as the RabbitMQ adapter (see `Bus`): round-robin competing
 * consumers, `prefetch` bound, retries with doubling delay, dead letters
 * after `maxAttempts`, and `stop()` that waits for in-flight handlers up to
 * `drainTimeoutMs` and then puts their messages back for redelivery.
 *
 * Not durable on its own: `publish` resolves once the message is queued in
 * this process, and messages are dropped only when the bus is closed or the
 * process dies. The embedded profile wraps it in the journal
 * (lib/adapters/journal/journaled-bus.ts), which keeps durable queues on disk. Timers (retry
 * backoff, queue expiry) are `unref`'d and never keep the process alive.
 */
export class MemoryBus implements Bus {
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly consumers = new Set<MemoryConsumer>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  async declareQueue(queue: string, opts: QueueOptions): Promise<void> {
    this.ensureOpen();
    const existing = this.queues.get(queue);
    if (existing !== undefined) {
      // RabbitMQ refuses a redeclare with other arguments (406); so do we, to catch it in tests.
      if (existing.options.durable !== opts.durable || existing.options.expiresMs !== opts.expiresMs) {
        throw new Error(`bus queue ${queue} already declared with other options`);
      }
      existing.touch();
      return;
    }
    this.queues.set(queue, new MemoryQueue(queue, { ...opts }, (q) => this.expire(q)));
  }

  async publish(queue: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    const q = this.queue(queue);
    for (const name of Object.keys(headers)) {
      if (isReservedHeader(name)) throw new Error(`bus header ${name}: names starting with x- are reserved`);
    }
    // Copies, so a caller reusing its buffer cannot change a message the "broker" holds.
    q.enqueue({ body: body.slice(), headers: { ...headers }, attempt: 1 });
  }

  async consume(queue: string, handler: Handler, opts?: ConsumeOptions): Promise<BusConsumer> {
    const q = this.queue(queue);
    const consumer = new MemoryConsumer(q, handler, consumeDefaults(opts), this.retryTimers, (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    q.addConsumer(consumer);
    return consumer;
  }

  async replayDeadLetters(queue: string): Promise<number> {
    const q = this.queue(queue);
    const dead = q.dead.drain();
    for (const envelope of dead) q.enqueue({ ...envelope, attempt: 1 });
    return dead.length;
  }

  async depth(queue: string): Promise<{ ready: number; dead: number }> {
    const q = this.queue(queue);
    return { ready: q.ready.length, dead: q.dead.length };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const q of this.queues.values()) q.discard();
    this.queues.clear();
  }

  private queue(name: string): MemoryQueue {
    this.ensureOpen();
    const q = this.queues.get(name);
    if (q === undefined) throw new Error(`bus queue ${name} is not declared`);
    return q;
  }

  private ensureOpen(): void {
    if (this.closed) throw new Error("bus is closed");
  }

  private expire(q: MemoryQueue): void {
    if (this.queues.get(q.name) !== q) return;
    this.queues.delete(q.name);
    q.discard();
  }
}

/** One in-flight delivery; `abandoned` once `stop()` gave up waiting for it. */
interface Delivery {
  envelope: Envelope;
  abandoned: boolean;
}

class MemoryConsumer implements QueueConsumer, BusConsumer {
  private readonly inFlight = new Set<Delivery>();
  private running = true;
  private stopping: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly queue: MemoryQueue,
    private readonly handler: Handler,
    private readonly opts: Required<ConsumeOptions>,
    private readonly retryTimers: Set<NodeJS.Timeout>,
    private readonly onStopped: (c: MemoryConsumer) => void,
  ) {}

  hasCapacity(): boolean {
    return this.running && this.inFlight.size < this.opts.prefetch;
  }

  deliver(envelope: Envelope): void {
    const delivery: Delivery = { envelope, abandoned: false };
    this.inFlight.add(delivery);
    let result: Promise<void>;
    try {
      result = Promise.resolve(this.handler(toMessage(this.queue.name, envelope)));
    } catch (err) {
      result = Promise.reject(err); // a handler that throws synchronously fails like one that rejects
    }
    result.then(
      () => this.settle(delivery, undefined),
      (err: unknown) => this.settle(delivery, err ?? new Error("handler failed")),
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.running = false;
    this.queue.removeConsumer(this);
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, this.opts.drainTimeoutMs);
        timer.unref();
      });
      clearTimeout(timer);
      // Handlers still running after the drain timeout lose their messages to
      // the queue, as an unacked delivery returns when a RabbitMQ channel closes.
      const abandoned = [...this.inFlight];
      this.inFlight.clear();
      for (const d of abandoned) d.abandoned = true;
      if (abandoned.length > 0) this.queue.requeueFront(abandoned.map((d) => d.envelope));
    }
    this.onStopped(this);
  }

  private settle(delivery: Delivery, err: unknown): void {
    if (delivery.abandoned) return; // redelivered already; this late outcome no longer counts
    this.inFlight.delete(delivery);
    if (err !== undefined) this.fail(delivery.envelope);
    if (this.running) this.queue.schedule();
    else if (this.inFlight.size === 0) this.drained?.();
  }

  private fail(envelope: Envelope): void {
    if (envelope.attempt >= this.opts.maxAttempts) {
      this.queue.dead.push(envelope);
      return;
    }
    const delay = this.opts.retryDelayMs * 2 ** (envelope.attempt - 1);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.queue.enqueue({ ...envelope, attempt: envelope.attempt + 1 });
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
