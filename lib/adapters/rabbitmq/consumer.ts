import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "pino";
import type { BusConsumer, BusMessage, ConsumeOptions } from "../../ports/bus.js";
import type { AmqpConnection } from "./connection.js";
import type { ConfirmPublisher } from "./publisher.js";
import {
  ATTEMPT_HEADER,
  attemptOf,
  LAST_ERROR_HEADER,
  lastErrorText,
  type QueueNames,
  userHeaders,
} from "./topology.js";

/** What a consumer needs from its bus. */
export interface ConsumerDeps {
  conn: AmqpConnection;
  publisher: ConfirmPublisher;
  log: Logger;
  /** The logical queue name handlers see. */
  queue: string;
  names: QueueNames;
  /** Declares the queue again if this process declared it (after a broker restart). */
  redeclare(): Promise<void>;
  /** Set for an expiring queue this process declared: the retry and dead queues need their lease renewed. */
  expiresMs: number | undefined;
  onStopped(consumer: RabbitConsumer): void;
}

interface Delivery {
  msg: ConsumeMessage;
  ch: Channel;
  abandoned: boolean;
}

const REOPEN_MIN_MS = 100;
const REOPEN_MAX_MS = 5_000;

/**
 * One consumer on a channel of its own (`prefetch`, manual ack). A handler
 * that resolves acks; one that throws has its message published to Q.retry
 * (attempt + 1, expiring after the backoff) or, after `maxAttempts`, to
 * Q.dead with `x-last-error`, and only once that publish is confirmed is the
 * original acked: a crash in between redelivers the message, never loses it.
 * When the channel or connection dies, unacked messages return to the queue
 * (the broker requeues them); the consumer reopens with backoff, and late
 * outcomes of handlers on the dead channel are ignored.
 */
export class RabbitConsumer implements BusConsumer {
  private ch: Channel | undefined;
  private tag: string | undefined;
  private readonly inFlight = new Set<Delivery>();
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenDelay = REOPEN_MIN_MS;
  private leaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly handler: (msg: BusMessage) => Promise<void>,
    private readonly opts: Required<ConsumeOptions>,
  ) {}

  /** Opens the channel and starts consuming; rejects when the queue is missing. */
  async start(): Promise<void> {
    await this.open();
    const expiresMs = this.deps.expiresMs;
    if (expiresMs !== undefined) {
      // Redeclaring renews an x-expires lease; the retry and dead queues have no consumer to do it.
      this.leaseTimer = setInterval(
        () =>
          this.deps
            .redeclare()
            .catch((err: unknown) => this.deps.log.warn({ err }, "bus lease renewal failed")),
        Math.max(50, Math.floor(expiresMs / 3)),
      );
      this.leaseTimer.unref();
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async open(): Promise<void> {
    const ch = await this.deps.conn.model.createChannel();
    ch.on("error", (err: Error) => this.deps.log.warn({ err: err.message }, "amqp consumer channel error"));
    ch.on("close", () => this.onChannelClosed(ch));
    await ch.prefetch(this.opts.prefetch);
    const { consumerTag } = await ch.consume(this.deps.names.main, (msg) => this.onMessage(ch, msg), {
      noAck: false,
    });
    if (this.stopped) {
      await ch.close().catch(() => {});
      return;
    }
    this.ch = ch;
    this.tag = consumerTag;
    this.reopenDelay = REOPEN_MIN_MS;
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted): start over, which waits for the queue to exist again.
      this.deps.log.warn({ queue: this.deps.names.main }, "amqp consumer cancelled by the broker");
      ch.close().catch(() => {});
      return;
    }
    if (this.stopped) {
      tryAmqp(() => ch.nack(msg, false, true)); // arrived during cancel: back to the queue
      return;
    }
    const delivery: Delivery = { msg, ch, abandoned: false };
    this.inFlight.add(delivery);
    const headers = msg.properties.headers as Record<string, unknown> | undefined;
    const message: BusMessage = {
      queue: this.deps.queue,
      body: new Uint8Array(msg.content.buffer, msg.content.byteOffset, msg.content.byteLength),
      headers: userHeaders(headers),
      attempt: attemptOf(headers),
    };
    let result: Promise<void>;
    try {
      result = Promise.resolve(this.handler(message));
    } catch (err) {
      result = Promise.reject(err);
    }
    result
      .then(
        () => this.ack(delivery),
        (err: unknown) => this.fail(delivery, message, err ?? new Error("handler failed")),
      )
      .finally(() => this.release(delivery));
  }

  private ack(d: Delivery): void {
    if (!d.abandoned) tryAmqp(() => d.ch.ack(d.msg));
  }

  private async fail(d: Delivery, message: BusMessage, err: unknown): Promise<void> {
    if (d.abandoned) return; // the broker redelivers it anyway
    const { names, publisher } = this.deps;
    const dead = message.attempt >= this.opts.maxAttempts;
    try {
      if (dead) {
        await publisher.publish(names.dead, d.msg.content, {
          persistent: true,
          headers: {
            ...message.headers,
            [ATTEMPT_HEADER]: message.attempt,
            [LAST_ERROR_HEADER]: lastErrorText(err),
          },
        });
      } else {
        await publisher.publish(names.retry, d.msg.content, {
          persistent: d.msg.properties.deliveryMode === 2,
          headers: { ...message.headers, [ATTEMPT_HEADER]: message.attempt + 1 },
          expirationMs: this.opts.retryDelayMs * 2 ** (message.attempt - 1),
        });
      }
      this.ack(d);
    } catch (publishErr) {
      // Could not park the message: put it back after a pause rather than spin on a failing broker.
      this.deps.log.error({ err: publishErr, queue: names.main }, "bus could not move a failed message");
      await new Promise((r) => setTimeout(r, this.opts.retryDelayMs).unref());
      if (!d.abandoned) tryAmqp(() => d.ch.nack(d.msg, false, true));
    }
    this.deps.log.debug({ queue: names.main, attempt: message.attempt, dead, err }, "bus handler failed");
  }

  private release(d: Delivery): void {
    this.inFlight.delete(d);
    if (this.stopped && this.inFlight.size === 0) this.drained?.();
  }

  private onChannelClosed(ch: Channel): void {
    if (ch !== this.ch) return; // a channel we closed ourselves, or one that never finished opening
    this.ch = undefined;
    for (const d of this.inFlight) if (d.ch === ch) d.abandoned = true; // requeued by the broker
    if (!this.stopped) this.scheduleReopen();
  }

  private scheduleReopen(): void {
    const delay = this.reopenDelay;
    this.reopenDelay = Math.min(delay * 2, REOPEN_MAX_MS);
    this.reopenTimer = setTimeout(async () => {
      this.reopenTimer = undefined;
      if (this.stopped) return;
      try {
        await this.deps.redeclare();
        await this.open();
        this.deps.log.info({ queue: this.deps.names.main }, "amqp consumer resumed");
      } catch (err) {
        this.deps.log.warn(
          { err, queue: this.deps.names.main, delayMs: this.reopenDelay },
          "amqp consumer reopen failed",
        );
        if (!this.stopped) this.scheduleReopen();
      }
    }, delay);
  }

  private async drain(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    clearInterval(this.leaseTimer);
    const ch = this.ch;
    if (ch !== undefined && this.tag !== undefined) await ch.cancel(this.tag).catch(() => {});
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, this.opts.drainTimeoutMs);
      });
      clearTimeout(timer);
    }
    // Handlers still running lose their messages: closing the channel requeues them (Bus contract).
    for (const d of this.inFlight) d.abandoned = true;
    this.ch = undefined;
    if (ch !== undefined) await ch.close().catch(() => {});
    this.deps.onStopped(this);
  }
}

/** amqplib throws synchronously on a closed channel; the broker has requeued the message by then. */
function tryAmqp(op: () => void): void {
  try {
    op();
  } catch {
    // channel gone: nothing to settle any more
  }
}
