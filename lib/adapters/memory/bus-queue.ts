import type { BusMessage, QueueOptions } from "../../ports/bus.js";
import { Deque } from "./deque.js";

/** A message as the memory bus holds it. */
export interface Envelope {
  body: Uint8Array;
  headers: Record<string, string>;
  attempt: number;
}

/** What a queue needs from a consumer to hand it work. */
export interface QueueConsumer {
  /** True while the consumer takes another message. */
  hasCapacity(): boolean;
  /** Runs the handler on one message. */
  deliver(envelope: Envelope): void;
}

/**
 * Messages dispatched in one go before the queue yields to the event loop:
 * handlers that settle at once would otherwise chain microtasks through a
 * whole backlog and starve sockets and timers.
 */
const DISPATCH_BUDGET = 512;

/**
 * One memory queue: ready messages, dead letters, and its consumers served
 * round robin. Dispatch is batched (a microtask, or `setImmediate` once the
 * budget is spent), so the happy path arms no timer per message.
 */
export class MemoryQueue {
  readonly ready = new Deque<Envelope>();
  readonly dead = new Deque<Envelope>();
  private readonly consumers: QueueConsumer[] = [];
  private next = 0;
  private scheduled = false;
  private budget = DISPATCH_BUDGET;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly options: QueueOptions,
    private readonly onExpire: (queue: MemoryQueue) => void,
  ) {
    this.armExpiry();
  }

  /** Renews the queue's lease, as a redeclare does in RabbitMQ. */
  touch(): void {
    this.armExpiry();
  }

  /** Adds a message at the tail (publish, retry, replay). */
  enqueue(envelope: Envelope): void {
    this.ready.push(envelope);
    this.schedule();
  }

  /** Puts messages back at the head, in the given order (abandoned in-flight messages). */
  requeueFront(envelopes: Envelope[]): void {
    for (let i = envelopes.length - 1; i >= 0; i--) this.ready.unshift(envelopes[i]!);
    this.schedule();
  }

  addConsumer(consumer: QueueConsumer): void {
    this.consumers.push(consumer);
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.schedule();
  }

  removeConsumer(consumer: QueueConsumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
    this.armExpiry();
  }

  /** Asks for a dispatch pass soon (coalesced). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.budget > 0) {
      queueMicrotask(() => this.dispatch());
    } else {
      setImmediate(() => {
        this.budget = DISPATCH_BUDGET;
        this.dispatch();
      });
    }
  }

  /** Drops every message and timer (the bus closes). */
  discard(): void {
    clearTimeout(this.expiryTimer);
    this.ready.drain();
    this.dead.drain();
    this.consumers.length = 0;
  }

  private dispatch(): void {
    this.scheduled = false;
    while (this.ready.length > 0) {
      const consumer = this.pickConsumer();
      if (consumer === undefined) return;
      if (this.budget <= 0) {
        this.schedule(); // yields to the event loop, then carries on
        return;
      }
      this.budget--;
      consumer.deliver(this.ready.shift()!);
    }
  }

  /** Next consumer with room, round robin, so competing consumers share the load. */
  private pickConsumer(): QueueConsumer | undefined {
    const n = this.consumers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      const consumer = this.consumers[i]!;
      if (consumer.hasCapacity()) {
        this.next = (i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  /** Deletes the queue after `expiresMs` without consumers (a dead gateway's delivery queue). */
  private armExpiry(): void {
    const expiresMs = this.options.expiresMs;
    if (expiresMs === undefined || this.consumers.length > 0) return;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.onExpire(this), expiresMs);
    this.expiryTimer.unref();
  }
}

/** The view of an envelope a handler receives. */
export function toMessage(queue: string, envelope: Envelope): BusMessage {
  return { queue, body: envelope.body, headers: envelope.headers, attempt: envelope.attempt };
}
