import { type Context, ROOT_CONTEXT, type Span, SpanKind, type Tracer } from "@opentelemetry/api";
import { TRACEPARENT, TRACEPARENTS } from "./traceparent.js";
import { IncomingTrace, inSpan, roleTracer } from "./tracing.js";

/**
 * The spans of a message's path (docs/tracing.md), one per message at every hop, all in the trace
 * the gateway starts:
 *
 *   gateway.send (gateway, SERVER; the root)
 *   └─ domain.send (domain, SERVER)
 *      ├─ store.write (store, CONSUMER)
 *      └─ gateway.deliver (each delivering gateway, CONSUMER)
 *
 * Batches: every hop batches (the gateway's SendMessages calls, a turn's persistence jobs in one
 * bus message, one DeliveryBatch per node and turn), but each message keeps its own span with its
 * own parent: batches carry one trace context per item (traceparent.ts `traceparents`). One span
 * per message rather than a span per batch with links, so that one message is one trace that a
 * backend shows whole, and a batch's cost still shows as the overlapping spans of its items.
 *
 * Attributes name the message, never its content: app id, command, messageKey, sequence, queue,
 * counts and result codes. No body, userSign, token or user id goes into a span.
 */

/** Span names. */
export const SPANS = {
  gatewaySend: "gateway.send",
  domainSend: "domain.send",
  storeWrite: "store.write",
  gatewayDeliver: "gateway.deliver",
} as const;

/** Attribute keys (ours under `whaleshark.`, the bus ones from the messaging conventions). */
export const ATTRS = {
  appId: "whaleshark.app_id",
  /** The wire command: 1103 P2P, 2104 group. */
  command: "whaleshark.command",
  /** As a decimal string: an int64 id, not a quantity. */
  messageKey: "whaleshark.message_key",
  messageSequence: "whaleshark.message_sequence",
  /** The answer's code: 0 accepted, else the catalogue code the client got. */
  resultCode: "whaleshark.result_code",
  /** A resend the gateway joined to its first copy (no second call to the domain). */
  joined: "whaleshark.send.joined",
  /** Connections a delivering gateway wrote the message to. */
  connections: "whaleshark.connections",
  queue: "messaging.destination.name",
  batchSize: "messaging.batch.message_count",
  attempt: "whaleshark.attempt",
} as const;

/** What a send resolves with, as far as the spans read it. */
interface SendOutcome {
  code?: number;
  data?: { messageKey?: number; messageSequence?: number } | undefined;
}

/**
 * The gateway's span of one send frame (1103 / 2104), the root of the message's trace, around
 * its call to the domain: `call` runs inside it, so the item it queues remembers this span
 * (tracing.ts rememberTrace) for the batch's metadata. Call only when tracing is on.
 */
export function traceGatewaySend<R extends SendOutcome>(
  command: number,
  appId: number,
  joined: boolean,
  call: () => Promise<R> | R,
): Promise<R> {
  const tracer = roleTracer("gateway");
  if (tracer === undefined) return Promise.resolve(call());
  const attributes = { [ATTRS.appId]: appId, [ATTRS.command]: command, [ATTRS.joined]: joined };
  return inSpan(tracer, SPANS.gatewaySend, SpanKind.SERVER, ROOT_CONTEXT, attributes, async (span) => {
    const result = await call();
    span.setAttribute(ATTRS.resultCode, result.code ?? 0);
    setKey(span, result.data);
    return result;
  });
}

/**
 * The domain's span of one send, under the gateway's span of it (item `index` of a batch call, or
 * the call's own context): `send` runs inside it, so its persistence job and its pushes carry this
 * span. Without a trace context (tracing off here, or an API send) `send` runs as it is.
 */
export function traceDomainSend<M extends { messageKey: number; messageSequence: number }>(
  incoming: IncomingTrace | undefined,
  index: number | undefined,
  command: number,
  appId: number,
  send: () => Promise<M>,
): Promise<M> {
  const tracer = roleTracer("domain");
  if (tracer === undefined || incoming === undefined) return send();
  const parent = index === undefined ? incoming.call() : incoming.item(index);
  const attributes = { [ATTRS.appId]: appId, [ATTRS.command]: command };
  return inSpan(tracer, SPANS.domainSend, SpanKind.SERVER, parent, attributes, async (span) => {
    const message = await send();
    setKey(span, message);
    return message;
  });
}

/** What the store's span says of one job. */
export interface StoreJobFacts {
  queue: string;
  appId: number;
  messageKey: bigint;
  /** Jobs in the bus message. */
  batchSize: number;
  attempt: number;
}

/**
 * The store's span of one persistence job, from its bus message's arrival until its batch
 * committed (`write` resolves then), under the domain's span of the message. Call only when
 * tracing is on.
 */
export function traceStoreWrite<T>(parent: Context, job: StoreJobFacts, write: () => Promise<T>): Promise<T> {
  const tracer = roleTracer("store");
  if (tracer === undefined) return write();
  const attributes = {
    [ATTRS.queue]: job.queue,
    [ATTRS.appId]: job.appId,
    [ATTRS.messageKey]: String(job.messageKey),
    [ATTRS.batchSize]: job.batchSize,
    [ATTRS.attempt]: job.attempt,
  };
  return inSpan(tracer, SPANS.storeWrite, SpanKind.CONSUMER, parent, attributes, write);
}

/**
 * The delivering gateway's spans of one DeliveryBatch: one per traced payload (a message), under
 * the domain's span of it, covering the writes of every delivery that names it; started at its
 * first delivery, ended by {@link end}.
 */
export class DeliverySpans {
  readonly #tracer: Tracer;
  readonly #incoming: IncomingTrace;
  readonly #queue: string;
  /** By payload index; null for an untraced payload of a mixed batch (looked up once). */
  readonly #open = new Map<number, { span: Span; connections: number } | null>();

  private constructor(tracer: Tracer, incoming: IncomingTrace, queue: string) {
    this.#tracer = tracer;
    this.#incoming = incoming;
    this.#queue = queue;
  }

  /** The spans of a batch with these headers; undefined when tracing is off or it carries no trace. */
  static of(headers: Readonly<Record<string, string>>, queue: string): DeliverySpans | undefined {
    const tracer = roleTracer("gateway");
    if (tracer === undefined || (headers[TRACEPARENT] === undefined && headers[TRACEPARENTS] === undefined)) {
      return undefined;
    }
    return new DeliverySpans(tracer, new IncomingTrace((name) => headers[name]), queue);
  }

  /** Counts `connections` written for a delivery of payload `payloadIndex` (of `command`, app `appId`). */
  delivered(payloadIndex: number | undefined, appId: number, command: number, connections: number): void {
    if (payloadIndex === undefined) return;
    let open = this.#open.get(payloadIndex);
    if (open === null) return;
    if (open === undefined) {
      const parent = this.#incoming.item(payloadIndex);
      if (parent === ROOT_CONTEXT) {
        this.#open.set(payloadIndex, null);
        return;
      }
      const attributes = { [ATTRS.queue]: this.#queue, [ATTRS.appId]: appId, [ATTRS.command]: command };
      const span = this.#tracer.startSpan(
        SPANS.gatewayDeliver,
        { kind: SpanKind.CONSUMER, attributes },
        parent,
      );
      open = { span, connections: 0 };
      this.#open.set(payloadIndex, open);
    }
    open.connections += connections;
  }

  /** Ends every span, with the connections each message was written to. */
  end(): void {
    for (const open of this.#open.values()) {
      if (open === null) continue;
      open.span.setAttribute(ATTRS.connections, open.connections);
      open.span.end();
    }
    this.#open.clear();
  }
}

function setKey(span: Span, m: { messageKey?: number; messageSequence?: number } | undefined): void {
  if (m?.messageKey !== undefined && m.messageKey !== 0) {
    span.setAttribute(ATTRS.messageKey, String(m.messageKey));
  }
  if (m?.messageSequence !== undefined && m.messageSequence !== 0) {
    span.setAttribute(ATTRS.messageSequence, m.messageSequence);
  }
}
