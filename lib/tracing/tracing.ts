import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { RoleName } from "../role/role.js";
import {
  formatTraceparent,
  type HeaderReader,
  itemTraceparents,
  parseTraceparent,
  TRACEPARENT,
  TRACESTATE,
} from "./traceparent.js";

/**
 * The process's tracing state and the few operations the edges use (docs/tracing.md). Until
 * start-tracing.ts installs tracers, {@link tracingOn} is false and every call site skips its
 * tracing branch after that one check: no span, no context capture, no allocation per message.
 * @opentelemetry/api alone is loaded then (its calls would be no-ops anyway); the SDK never is.
 */

/** One tracer per role of this process (each with the role's `service.name`). */
const tracers = new Map<RoleName, Tracer>();
let on = false;

/** Trace contexts remembered for objects that travel without one (see {@link rememberTrace}). */
let remembered = new WeakMap<object, string>();

/** Whether this process traces (`tracing.enabled` and start-tracing.ts has run). */
export function tracingOn(): boolean {
  return on;
}

/** The tracer of `role` in this process; undefined when tracing is off or the role is not here. */
export function roleTracer(role: RoleName): Tracer | undefined {
  return on ? tracers.get(role) : undefined;
}

/** Installs the tracers (start-tracing.ts) or, with an empty map, turns tracing off again. */
export function installTracers(byRole: ReadonlyMap<RoleName, Tracer>): void {
  tracers.clear();
  for (const [role, tracer] of byRole) tracers.set(role, tracer);
  on = tracers.size > 0;
  remembered = new WeakMap();
}

/** The traceparent of the span active here; undefined when tracing is off or no span is active. */
export function activeTraceparent(): string | undefined {
  if (!on) return undefined;
  const span = trace.getSpan(context.active());
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  return trace.isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

/** The context active here (to run work later in it, {@link withContext}); the root when off. */
export function activeContext(): Context {
  return on ? context.active() : ROOT_CONTEXT;
}

/** Runs `fn` with `ctx` active: spans it starts and contexts it captures are under `ctx`. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** The context of a remote parent named by a traceparent (and tracestate); the root without one. */
export function remoteParent(traceparent: string | undefined, tracestate?: string): Context {
  const sc = parseTraceparent(traceparent, tracestate);
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}

/**
 * Remembers the trace context active now for `carrier`, an object that is handed on without its
 * context (a send item the gateway's batcher sends later, from another turn); read back with
 * {@link rememberedTrace}. Weakly held: forgotten with the object.
 */
export function rememberTrace(carrier: object): void {
  const traceparent = activeTraceparent();
  if (traceparent !== undefined) remembered.set(carrier, traceparent);
}

/** The traceparent {@link rememberTrace} kept for `carrier`, if any. */
export function rememberedTrace(carrier: object): string | undefined {
  return remembered.get(carrier);
}

/**
 * The trace contexts a call or bus message came with: its own (`traceparent`, `tracestate`) and,
 * for a batch, one per item (`traceparents`, traceparent.ts).
 */
export class IncomingTrace {
  readonly #read: HeaderReader;
  #items: ((index: number) => string | undefined) | undefined;

  constructor(read: HeaderReader) {
    this.#read = read;
  }

  /** The parent context of the call (or bus message) as a whole. */
  call(): Context {
    return remoteParent(this.#read(TRACEPARENT), this.#read(TRACESTATE));
  }

  /** The parent context of item `index` of a batch: its own entry, else the call's. */
  item(index: number): Context {
    this.#items ??= itemTraceparents(this.#read);
    const own = this.#items(index);
    return own === undefined ? this.call() : remoteParent(own);
  }
}

/**
 * Runs `fn` in a new span `name` under `parent`, active while `fn` runs (contexts captured inside
 * it, e.g. for bus headers, name this span), ended when `fn`'s promise settles. `fn` is called
 * synchronously, so work started in it keeps its place in the caller's order. A failure sets the
 * span's status to ERROR with the error's name and code only: error texts may quote input.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, parent, (span) => {
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn(span));
    } catch (error) {
      failed(span, error);
      span.end();
      return Promise.reject(error);
    }
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        failed(span, error);
        span.end();
        throw error;
      },
    );
  });
}

/** Marks `span` failed with the error's name and catalogue code (ImError) or gRPC status code. */
export function failed(span: Span, error: unknown): void {
  const e = error as { name?: unknown; code?: unknown } | undefined;
  const name = typeof e?.name === "string" ? e.name : "Error";
  const code = typeof e?.code === "number" || typeof e?.code === "string" ? e.code : undefined;
  if (code !== undefined) span.setAttribute("whaleshark.error_code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code === undefined ? name : `${name} ${code}` });
}
