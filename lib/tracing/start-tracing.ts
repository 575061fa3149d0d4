import { type DiagLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { redactUrl } from "../log/redact-url.js";
import type { RoleName } from "../role/role.js";
import { installTracers } from "./tracing.js";

/** A process's tracing, started by its composition root. */
export interface TracingHandle {
  /** Whether spans are made and exported. */
  readonly enabled: boolean;
  /** Exports what is buffered and stops (call after the roles stopped); a no-op when off. */
  shutdown(): Promise<void>;
}

const OFF: TracingHandle = { enabled: false, shutdown: async () => undefined };

/**
 * Starts tracing for the roles this process runs (app/cli.ts, app/embedded.ts), before they
 * start. With `tracing.enabled` false it does nothing and loads nothing: the SDK (sdk.ts) is
 * imported here only when tracing is on. The SDK's own warnings and errors (an unreachable
 * collector, spans dropped) go to `logger` at warn.
 */
export async function startTracing(
  config: Pick<Config, "tracing" | "nodeId">,
  roles: readonly RoleName[],
  logger: Logger,
): Promise<TracingHandle> {
  const tracing = config.tracing;
  if (!tracing.enabled) return OFF;
  const log = logger.child({ component: "tracing" });
  diag.setLogger(diagLogger(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const { startSdk } = await import("./sdk.js");
  const sdk = startSdk(tracing, roles, config.nodeId);
  installTracers(sdk.tracers);
  log.info(
    {
      endpoint: redactUrl(tracing.otlpEndpoint),
      sampleRatio: tracing.sampleRatio,
      roles: [...sdk.tracers.keys()],
    },
    "tracing on: spans exported over OTLP/HTTP",
  );
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: () => {
      stopped ??= (async () => {
        installTracers(new Map());
        try {
          await sdk.shutdown();
        } catch (err) {
          log.warn({ err }, "tracing: spans could not be exported at shutdown");
        } finally {
          diag.disable();
        }
      })();
      return stopped;
    },
  };
}

/** OpenTelemetry's diagnostics as pino lines. */
function diagLogger(log: Logger): DiagLogger {
  const line =
    (level: "error" | "warn" | "info" | "debug" | "trace") =>
    (message: string, ...args: unknown[]) =>
      log[level]({ details: args.length > 0 ? args.map(String) : undefined }, `opentelemetry: ${message}`);
  return {
    error: line("error"),
    warn: line("warn"),
    info: line("info"),
    debug: line("debug"),
    verbose: line("trace"),
  };
}
