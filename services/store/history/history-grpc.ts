import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { HistoryServiceService } from "../../../gen/ts/whaleshark/v1/history_service.js";
import { ImError } from "../../../lib/errors/index.js";
import { toServiceError } from "../../../lib/grpc/errors.js";
import { type AppHandlers, type AppServeEnv, serveApp } from "../../../lib/grpc/serve.js";
import { CallGate, type CallGateLimits } from "./call-gate.js";
import type { HistoryService } from "./history-service.js";

/**
 * Default admission limits of HistoryService calls per store process (see {@link CallGate}).
 * 8 at once: a call holds at most two pooled connections at a time (p2p and group pages read
 * rows and max side by side), so 8 calls take at most 16 of database.poolSize's default 20 and
 * leave the rest to the persistence consumer; PostgreSQL on a few cores gains nothing from more
 * concurrent sync queries anyway. (A fixed number: services/store/start.ts could derive it from
 * database.poolSize through historyGrpcHandlers' `limits`.)
 * 2 000 waiting: a login storm's catch-ups wait their turn (a gateway's deadline bounds each wait)
 * rather than being refused at the first burst, while memory stays bounded for callers without a
 * deadline.
 */
export const HISTORY_CALL_LIMITS: CallGateLimits = { running: 8, waiting: 2_000 };

/**
 * pg-pool's messages when no connection could be had within database.connectTimeoutMs: all
 * connections busy, or a new one not opened in time. pg gives these errors no code, only the text.
 */
const NO_CONNECTION = [
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
];

/**
 * A database that is too busy to hand out a connection is the store being unavailable for a
 * moment (71000, gRPC UNAVAILABLE, logged as a refusal), not an internal error (90000 with a
 * stack trace in the log for each of thousands of calls under a login storm).
 */
export function storeBusy(error: unknown): unknown {
  if (error instanceof Error && NO_CONNECTION.includes(error.message)) {
    return ImError.of("SERVER_NOT_AVAILABLE", "store busy: no database connection free", { cause: error });
  }
  return error;
}

const busyAware =
  <Req, Res>(run: (req: Req) => Promise<Res>) =>
  (req: Req): Promise<Res> =>
    run(req).catch((error: unknown) => {
      throw storeBusy(error);
    });

/** The HistoryService methods as typed handlers: the service, with {@link storeBusy} on its failures. */
export function historyHandlers(service: HistoryService): AppHandlers<typeof HistoryServiceService> {
  return {
    syncP2PMessages: busyAware((req) => service.syncP2PMessages(req)),
    syncGroupMessages: busyAware((req) => service.syncGroupMessages(req)),
    batchSyncMessages: busyAware((req) => service.batchSyncMessages(req)),
    batchSyncMessage: busyAware((req) => service.batchSyncMessage(req)),
    syncDeviceMessages: busyAware((req) => service.syncDeviceMessages(req)),
  };
}

type UnaryImpl = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;

/**
 * Puts every method of `impl` behind `gate`: a call starts (authentication, queries) only when
 * a turn is free and its caller still waits; a caller that is gone gets nothing done for it, and
 * one that finds the queue full gets 71000 "store busy" at once.
 */
export function gated(impl: UntypedServiceImplementation, gate: CallGate, logger: Logger) {
  const out: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(impl)) {
    const run = handler as UnaryImpl;
    const log = logger.child({ rpc: `HistoryService/${method}` });
    const unary: UnaryImpl = (call, callback) =>
      gate.admit(
        call,
        (release) =>
          run(call, (error, value, trailer, flags) => {
            release();
            callback(error, value, trailer, flags);
          }),
        (why) => {
          log.debug({ why, running: gate.running, waiting: gate.waiting }, "call not started");
          const detail = why === "busy" ? "store busy" : "the caller gave up before the call started";
          callback(toServiceError(ImError.of("SERVER_NOT_AVAILABLE", detail)));
        },
      );
    out[method] = unary;
  }
  return out;
}

/**
 * grpc-js handlers for HistoryService with authentication in front
 * (common.proto §2, fixes D4 for the store: the original's history endpoints
 * checked nobody), behind an admission gate ({@link HISTORY_CALL_LIMITS}). Two kinds of callers
 * get in:
 * - app servers, by metadata appid / identifier / usersign (600xx codes,
 *   UNAUTHENTICATED), with `app_id` the signed app and `operater` the signed
 *   identifier unless that is an app admin (60005, PERMISSION_DENIED);
 * - gateways, by the deployment's internal secret (`env.internal`): they
 *   relay a logged-in device's sync (command.proto 9007 / 9009) with
 *   `operater` taken from the connection, never from the device.
 * The service then lets the operator read only their own rows (`user_id`
 * of someone else needs an app admin). Failures cross the wire as
 * common.proto §3 says (status + `whaleshark-code` trailer; unexpected errors
 * as 90000 without their text, which goes to the log; no free database connection as 71000).
 */
export function historyGrpcHandlers(
  service: HistoryService,
  env: AppServeEnv,
  limits: CallGateLimits = HISTORY_CALL_LIMITS,
): UntypedServiceImplementation {
  const impl = serveApp("HistoryService", HistoryServiceService, historyHandlers(service), env);
  return gated(impl, new CallGate(limits), env.logger);
}
