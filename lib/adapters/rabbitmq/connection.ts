import { randomBytes } from "node:crypto";
import amqp, { type Channel, type RecoveringChannelModel } from "amqplib";
import type { Logger } from "pino";
import { redactUrl } from "../../log/redact-url.js";

/** Reconnect backoff after a lost connection: 100 ms doubling up to 5 s, with jitter, forever. */
const RECONNECT = { initialDelay: 100, maxDelay: 5_000, factor: 2, jitter: 0.2 } as const;

/** The AMQP connection of one bus, recovering by itself. */
export interface AmqpConnection {
  model: RecoveringChannelModel;
  /** The URL without its password, for logs and errors. */
  where: string;
  /** `connection_name` the broker shows for it (`rabbitmqctl list_connections client_properties`). */
  name: string;
}

/**
 * Opens a connection with amqplib's built-in recovery, or rejects at once with
 * an error naming the broker (without the password): at startup a wrong URL
 * or a down broker should fail the process loudly, not retry in silence.
 * Once connected, a lost connection is retried forever with backoff; every
 * disconnect, failed attempt and recovery is logged. Channels do not survive
 * a reconnect: the bus re-creates its own on `connect` (and listens to
 * `error` on each, since an unhandled channel error would crash the process).
 */
export async function connectAmqp(url: string, logger: Logger): Promise<AmqpConnection> {
  const where = redactUrl(url);
  const name = `whaleshark-${process.pid}-${randomBytes(3).toString("hex")}`;
  const log = logger.child({ amqp: where });
  let model: RecoveringChannelModel;
  try {
    model = await amqp.connect(url, {
      clientProperties: { connection_name: name },
      recovery: { ...RECONNECT, initialMaxRetries: 0, maxRetries: Number.POSITIVE_INFINITY },
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`amqp broker at ${where} unreachable: ${reason}`, { cause: err });
  }
  model.on("error", (err: Error) => log.warn({ err: err.message }, "amqp connection error"));
  model.on("disconnect", (err: Error) => log.warn({ err: err.message }, "amqp connection lost"));
  model.on("reconnect-scheduled", (info: { attempt: number; delay: number; error: Error }) =>
    log.warn({ attempt: info.attempt, delayMs: info.delay, err: info.error.message }, "amqp reconnecting"),
  );
  model.on("connect", () => log.info("amqp connected"));
  model.on("blocked", (reason: string) => log.warn({ reason }, "amqp connection blocked by the broker"));
  model.on("unblocked", () => log.info("amqp connection unblocked"));
  model.on("handler-error", (err: Error, event: string) =>
    log.error({ err, event }, "amqp event handler threw"),
  );
  return { model, where, name };
}

/**
 * Runs `fn` on a short-lived channel and closes it. Operations that may fail
 * with a channel error (a 404 on a missing queue, a 406 on a redeclare with
 * other arguments) use one each, because such an error kills the channel
 * it happens on and would take concurrent work down with it.
 */
export async function withChannel<T>(conn: AmqpConnection, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await conn.model.createChannel();
  let failed: Error | undefined;
  ch.on("error", (err: Error) => {
    failed = err; // the failing operation rejects with it too; this keeps it from crashing the process
  });
  try {
    return await fn(ch);
  } finally {
    if (failed === undefined) await ch.close().catch(() => {});
  }
}

/** AMQP reply code of a channel or connection error (404 NOT_FOUND, 406 PRECONDITION_FAILED, ...). */
export function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}
