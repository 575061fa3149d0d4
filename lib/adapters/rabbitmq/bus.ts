import type { Logger } from "pino";
import type { Bus, BusConsumer, BusMessage, ConsumeOptions, QueueOptions } from "../../ports/bus.js";
import { consumeDefaults, isReservedHeader } from "../../ports/bus.js";
import { type AmqpConnection, connectAmqp, replyCode, withChannel } from "./connection.js";
import { RabbitConsumer } from "./consumer.js";
import { ConfirmPublisher } from "./publisher.js";
import { declareTopology, type QueueNames, type QueueType, queueNames, userHeaders } from "./topology.js";

/** Settings of {@link RabbitMqBus.connect}. */
export interface RabbitMqBusOptions {
  /** `amqp://user:password@host:port/vhost`. */
  url: string;
  /** Prefix of every queue name (config `amqp.prefix`): `{prefix}.{queue}`. */
  prefix: string;
  logger: Logger;
  /** A publish not confirmed within this long rejects (default 10 000 ms). */
  publishTimeoutMs?: number;
  /** Type of every queue this bus declares (config `amqp.queueType`, default classic; docs/queues.md). */
  queueType?: QueueType;
}

/**
 * The bus port on RabbitMQ 3.10 (amqplib). Semantics in `Bus`; layout of
 * each queue (main, `.retry`, `.dead` on the default exchange, classic or
 * quorum queues per `queueType`) in topology.ts, publishing in publisher.ts, consuming in consumer.ts.
 * Messages are persistent unless the queue was declared non-durable by this
 * process. After a lost connection, amqplib reconnects with backoff and every
 * consumer reopens, redeclaring the queues this process declared (a broker
 * restart drops non-durable ones).
 */
export class RabbitMqBus implements Bus {
  private readonly declared = new Map<string, QueueOptions>();
  private readonly created = new Set<string>();
  private readonly consumers = new Set<RabbitConsumer>();
  private closed = false;

  private constructor(
    private readonly conn: AmqpConnection,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly publisher: ConfirmPublisher,
    private readonly queueType: QueueType,
  ) {}

  /** Connects, rejecting with an error naming the broker (not its password) when it is unreachable. */
  static async connect(opts: RabbitMqBusOptions): Promise<RabbitMqBus> {
    const log = opts.logger.child({ component: "bus" });
    const conn = await connectAmqp(opts.url, log);
    const publisher = new ConfirmPublisher(conn, log, opts.publishTimeoutMs ?? 10_000);
    return new RabbitMqBus(conn, opts.prefix, log, publisher, opts.queueType ?? "classic");
  }

  async declareQueue(queue: string, opts: QueueOptions): Promise<void> {
    const names = this.names(queue);
    await withChannel(this.conn, (ch) => declareTopology(ch, names, opts, this.queueType));
    this.declared.set(queue, { ...opts });
    for (const name of [names.main, names.retry, names.dead]) this.created.add(name);
  }

  async publish(queue: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<void> {
    const names = this.names(queue);
    for (const name of Object.keys(headers)) {
      if (isReservedHeader(name)) throw new Error(`bus header ${name}: names starting with x- are reserved`);
    }
    await this.publisher.publish(names.main, Buffer.from(body), {
      persistent: this.declared.get(queue)?.durable ?? true,
      headers: { ...headers },
    });
  }

  async consume(
    queue: string,
    handler: (msg: BusMessage) => Promise<void>,
    opts?: ConsumeOptions,
  ): Promise<BusConsumer> {
    const names = this.names(queue);
    const consumer = new RabbitConsumer(
      {
        conn: this.conn,
        publisher: this.publisher,
        log: this.log,
        queue,
        names,
        redeclare: () => this.redeclare(queue, names),
        expiresMs: this.declared.get(queue)?.expiresMs,
        onStopped: (c) => this.consumers.delete(c),
      },
      handler,
      consumeDefaults(opts),
    );
    try {
      await consumer.start();
    } catch (err) {
      await consumer.stop();
      throw notDeclared(err, queue);
    }
    this.consumers.add(consumer);
    return consumer;
  }

  async replayDeadLetters(queue: string): Promise<number> {
    const names = this.names(queue);
    const persistent = this.declared.get(queue)?.durable ?? true;
    return withChannel(this.conn, async (ch) => {
      // Only what is dead now: a handler failing at once must not make this loop forever.
      const { messageCount } = await ch.checkQueue(names.dead).catch((err: unknown) => {
        throw notDeclared(err, queue);
      });
      let moved = 0;
      while (moved < messageCount) {
        const msg = await ch.get(names.dead, { noAck: false });
        if (msg === false) break;
        const headers = userHeaders(msg.properties.headers as Record<string, unknown> | undefined);
        await this.publisher.publish(names.main, msg.content, { persistent, headers });
        ch.ack(msg); // after the confirm: a failure in between leaves it dead, not lost
        moved++;
      }
      return moved;
    });
  }

  async depth(queue: string): Promise<{ ready: number; dead: number }> {
    const names = this.names(queue);
    try {
      return await withChannel(this.conn, async (ch) => ({
        ready: (await ch.checkQueue(names.main)).messageCount,
        dead: (await ch.checkQueue(names.dead)).messageCount,
      }));
    } catch (err) {
      throw notDeclared(err, queue);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.publisher.close();
    await this.conn.model.close().catch((err: unknown) => this.log.warn({ err }, "amqp close failed"));
  }

  /** Every physical queue this bus declared (tests delete them afterwards). */
  createdQueues(): string[] {
    return [...this.created];
  }

  /** The `connection_name` this bus shows on the broker (operators find it in the management UI). */
  connectionName(): string {
    return this.conn.name;
  }

  private names(queue: string): QueueNames {
    if (this.closed) throw new Error("bus is closed");
    return queueNames(this.prefix, queue);
  }

  private async redeclare(queue: string, names: QueueNames): Promise<void> {
    const opts = this.declared.get(queue);
    if (opts !== undefined && !this.closed)
      await withChannel(this.conn, (ch) => declareTopology(ch, names, opts, this.queueType));
  }
}

/** A 404 from the broker as "queue is not declared"; anything else unchanged. */
function notDeclared(err: unknown, queue: string): unknown {
  if (replyCode(err) !== 404) return err;
  return new Error(`bus queue ${queue} is not declared`, { cause: err });
}
