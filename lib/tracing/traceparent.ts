import { createTraceState, isSpanContextValid, type SpanContext } from "@opentelemetry/api";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as WhaleShark carries it in gRPC
 * metadata and bus headers (docs/tracing.md "Propagation"). Pure string work: no SDK, so the
 * edges can read and write it with tracing off in the process they talk to.
 *
 * A call or bus message that concerns one message carries the standard `traceparent` (and
 * `tracestate` when there is one). A batch (ChatService.SendMessages, a bus message of several
 * persistence jobs, a DeliveryBatch) carries `traceparents`: one traceparent per item in item
 * order, comma-separated, `-` for an item without one. tracestate is not carried per item: our
 * traces start at the gateway, which sets none.
 */

/** The W3C header of one trace context. */
export const TRACEPARENT = "traceparent";
/** The W3C vendor-specific companion of {@link TRACEPARENT}. */
export const TRACESTATE = "tracestate";
/** WhaleShark's per-item list for batches (see the module comment). */
export const TRACEPARENTS = "traceparents";

/** The list entry of an item without a trace context. */
const NONE = "-";

/** version-traceId-spanId-flags; versions above 00 may append fields, which are ignored. */
const PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Headers read by name (gRPC metadata, bus headers). */
export type HeaderReader = (name: string) => string | undefined;

/** The traceparent of a span context: `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/**
 * The remote span context a traceparent names, with `tracestate` if given; undefined for a
 * missing or malformed value, version ff, an all-zero id, or extra fields under version 00 (as
 * the W3C spec requires of a parser).
 */
export function parseTraceparent(
  traceparent: string | undefined,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = PATTERN.exec(traceparent.trim());
  if (match === null) return undefined;
  const [, version, traceId = "", spanId = "", flags = "00", rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  const sc: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  if (!isSpanContextValid(sc)) return undefined;
  if (tracestate !== undefined && tracestate !== "") sc.traceState = createTraceState(tracestate);
  return sc;
}

/** The headers of one trace context: `traceparent`, and `tracestate` when it has one. */
export function traceHeaders(sc: SpanContext): Record<string, string> {
  const headers: Record<string, string> = { [TRACEPARENT]: formatTraceparent(sc) };
  const state = sc.traceState?.serialize();
  if (state !== undefined && state !== "") headers[TRACESTATE] = state;
  return headers;
}

/**
 * The headers of a batch whose items have these traceparents (undefined = none): nothing when no
 * item has one, `traceparent` alone when every item has the same one (a lone item), otherwise
 * `traceparents`.
 */
export function batchTraceHeaders(
  traceparents: readonly (string | undefined)[],
): Record<string, string> | undefined {
  const first = traceparents[0];
  let same = first !== undefined;
  let any = false;
  for (const t of traceparents) {
    if (t !== undefined) any = true;
    if (t !== first) same = false;
  }
  if (!any) return undefined;
  if (same) return { [TRACEPARENT]: first as string };
  // Array.from, not map: a sparse list's holes are items without a trace context too.
  return { [TRACEPARENTS]: Array.from(traceparents, (t) => t ?? NONE).join(",") };
}

/**
 * The traceparent of each item of a batch read through `read`: its entry of `traceparents`, or
 * the batch's `traceparent` for every item when there is no list. The list is split once.
 */
export function itemTraceparents(read: HeaderReader): (index: number) => string | undefined {
  const list = read(TRACEPARENTS);
  if (list === undefined) {
    const one = read(TRACEPARENT);
    return () => one;
  }
  const entries = list.split(",");
  return (index) => {
    const entry = entries[index]?.trim();
    return entry === undefined || entry === NONE || entry === "" ? undefined : entry;
  };
}
