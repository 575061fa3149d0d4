import { context, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import type { Config } from "../config/index.js";
import type { RoleName } from "../role/role.js";

/**
 * The OpenTelemetry SDK side, imported by start-tracing.ts only when `tracing.enabled` is true,
 * so a process with tracing off never loads it.
 */

/** Longest attribute value kept: ours are ids and codes; anything longer is a mistake, cut short. */
const ATTRIBUTE_VALUE_LIMIT = 256;

/** The SDK objects of one process: a tracer per role and how to stop them. */
export interface TracingSdk {
  tracers: Map<RoleName, Tracer>;
  /** Exports what is buffered and stops every provider and the context manager. */
  shutdown(): Promise<void>;
}

/**
 * One tracer provider per role of the process, so each role's spans carry its own `service.name`
 * (also under `whaleshark start`): a sampler that follows the parent's decision and samples new
 * traces at `sampleRatio`, and a batch span processor exporting OTLP/HTTP JSON to `otlpEndpoint`
 * (its queue bounds memory when the collector is down: spans past it are dropped, never the
 * process's work). The batch processor reads the standard OTEL_BSP_* variables (e.g.
 * OTEL_BSP_SCHEDULE_DELAY, default 5000 ms) and the exporter OTEL_EXPORTER_OTLP_* (headers,
 * timeout). The providers are not registered globally: only our edges make spans, no library we
 * load does by finding a global provider. The AsyncLocalStorage context manager is registered,
 * which is what carries the active span across awaits.
 */
export function startSdk(config: Config["tracing"], roles: readonly RoleName[], nodeId: string): TracingSdk {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const providers: BasicTracerProvider[] = [];
  const tracers = new Map<RoleName, Tracer>();
  for (const role of new Set(roles)) {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": config.serviceName ?? role,
        "service.namespace": "whaleshark",
        "service.instance.id": nodeId,
        "whaleshark.role": role,
      }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
      spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT },
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpEndpoint }))],
    });
    providers.push(provider);
    tracers.set(role, provider.getTracer("whaleshark"));
  }
  return {
    tracers,
    shutdown: async () => {
      try {
        await Promise.all(providers.map((p) => p.shutdown()));
      } finally {
        context.disable();
      }
    },
  };
}
