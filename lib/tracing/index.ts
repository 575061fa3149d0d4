/** Public surface of the tracing module (docs/tracing.md): OpenTelemetry spans of a message's path. */
export {
  ATTRS,
  DeliverySpans,
  SPANS,
  type StoreJobFacts,
  traceDomainSend,
  traceGatewaySend,
  traceStoreWrite,
} from "./message-spans.js";
export { startTracing, type TracingHandle } from "./start-tracing.js";
export {
  batchTraceHeaders,
  formatTraceparent,
  type HeaderReader,
  itemTraceparents,
  parseTraceparent,
  TRACEPARENT,
  TRACEPARENTS,
  TRACESTATE,
  traceHeaders,
} from "./traceparent.js";
export {
  activeContext,
  activeTraceparent,
  IncomingTrace,
  rememberedTrace,
  rememberTrace,
  roleTracer,
  tracingOn,
  withContext,
} from "./tracing.js";
