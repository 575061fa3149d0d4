import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { isImError } from "../../../lib/errors/index.js";
import { toServiceError } from "../../../lib/grpc/errors.js";
import type { HistoryService } from "./history-service.js";

type Method = "syncP2PMessages" | "syncGroupMessages" | "batchSyncMessages" | "syncDeviceMessages";
const METHODS: Method[] = ["syncP2PMessages", "syncGroupMessages", "batchSyncMessages", "syncDeviceMessages"];

/**
 * grpc-js handlers for HistoryService: each call runs the service method on
 * the decoded request; failures cross the wire as common.proto §3 says
 * (status + `whaleshark-code` trailer; unexpected errors as 90000 without
 * their text, which goes to the log).
 *
 * Authentication of app-server calls (metadata appid / identifier /
 * usersign, common.proto §2) belongs in front of these handlers; the
 * service itself only lets `operater` read their own rows.
 */
export function historyGrpcHandlers(service: HistoryService, logger: Logger): UntypedServiceImplementation {
  const log = logger.child({ component: "history" });
  const handlers: UntypedServiceImplementation = {};
  for (const method of METHODS) {
    const run = service[method].bind(service) as (req: unknown) => Promise<unknown>;
    handlers[method] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      run(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (isImError(err)) log.debug({ method, code: err.code, msg: err.message }, "history call refused");
          else log.error({ err, method }, "history call failed");
          callback(toServiceError(err));
        },
      );
    };
  }
  return handlers;
}
