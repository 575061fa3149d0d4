import type { ConfirmChannel } from "amqplib";
import type { Logger } from "pino";
import type { AmqpConnection } from "./connection.js";

/** What one publish carries besides its body. */
export interface PublishOptions {
  persistent: boolean;
  headers: Record<string, string | number>;
  /** Per-message TTL in ms (retry backoff). */
  expirationMs?: number;
}

interface Pending {
  queue: string;
  deadline: number;
  returned: boolean;
  settle(err: Error | undefined): void;
}

/** How often overdue publishes are failed. */
const SWEEP_MS = 250;

/**
 * Publishes on one ConfirmChannel (re-created after a reconnect or a channel
 * error) and resolves each publish on the broker's confirm:
 * - `mandatory`, so a message for a queue that does not exist comes back as a
 *   `basic.return` before its confirm, and the publish rejects with "not
 *   declared" instead of vanishing (the broker drops unroutable messages);
 * - a nack or a channel closing under the message rejects it;
 * - no confirm within `timeoutMs` (broker blocked, connection down and not yet
 *   back) rejects it too, so a caller never waits forever. One sweep timer
 *   serves all publishes, not one timer each.
 */
export class ConfirmPublisher {
  private channel: Promise<ConfirmChannel> | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Sends `content` to `queue` on the default exchange; resolves once the broker confirmed it. */
  publish(queue: string, content: Buffer, opts: PublishOptions): Promise<void> {
    const messageId = `p${++this.nextId}`;
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = {
        queue,
        deadline: Date.now() + this.timeoutMs,
        returned: false,
        settle: (err) => {
          if (!this.pending.delete(messageId)) return; // settled already (timed out)
          if (err !== undefined) reject(err);
          else if (entry.returned) reject(new Error(`bus queue ${queue} is not declared (message returned)`));
          else resolve();
        },
      };
      this.pending.set(messageId, entry);
      this.acquire().then(
        (ch) => {
          if (!this.pending.has(messageId)) return; // timed out while waiting for a channel
          try {
            const options = {
              messageId,
              mandatory: true,
              persistent: opts.persistent,
              headers: opts.headers,
              ...(opts.expirationMs === undefined ? {} : { expiration: String(opts.expirationMs) }),
            };
            ch.sendToQueue(queue, content, options, (err: unknown) =>
              entry.settle(
                err ? new Error(`bus publish to ${queue} refused by the broker`, { cause: err }) : undefined,
              ),
            );
          } catch (err) {
            entry.settle(err instanceof Error ? err : new Error(String(err)));
          }
        },
        (err: unknown) => entry.settle(new Error(`bus publish to ${queue}: no channel`, { cause: err })),
      );
    });
  }

  /** Waits (bounded by the publish timeout) for outstanding confirms, then closes the channel. */
  async close(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    clearInterval(this.sweeper);
    this.sweep(Number.POSITIVE_INFINITY);
    const channel = this.channel;
    this.channel = undefined;
    if (channel !== undefined) await channel.then((ch) => ch.close()).catch(() => {});
  }

  private acquire(): Promise<ConfirmChannel> {
    this.channel ??= this.open();
    return this.channel;
  }

  private async open(): Promise<ConfirmChannel> {
    let ch: ConfirmChannel;
    try {
      ch = await this.conn.model.createConfirmChannel();
    } catch (err) {
      this.channel = undefined; // let the next publish try again
      throw err;
    }
    const opened = this.channel;
    ch.on("error", (err: Error) => this.log.warn({ err: err.message }, "amqp publish channel error"));
    ch.on("close", () => {
      if (this.channel === opened) this.channel = undefined; // the next publish opens a new one
    });
    ch.on("return", (msg: { properties: { messageId?: unknown } }) => {
      const entry = this.pending.get(String(msg.properties.messageId));
      if (entry !== undefined) entry.returned = true; // its confirm follows; the publish rejects then
    });
    return ch;
  }

  private sweep(now = Date.now()): void {
    for (const entry of this.pending.values()) {
      if (entry.deadline <= now) {
        entry.settle(new Error(`bus publish to ${entry.queue} not confirmed within ${this.timeoutMs} ms`));
      }
    }
  }
}
