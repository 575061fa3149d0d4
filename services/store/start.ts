import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import type { Config } from "../../lib/config/index.js";
import { startGrpcServer } from "../../lib/grpc/server.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";

/**
 * Starts the store role: history and sync over gRPC on `store.host:store.port`.
 * The persistence consumer and the handlers arrive with the store work; until
 * then HistoryService answers UNIMPLEMENTED.
 */
export async function startStore(deps: RoleDeps, config: Config): Promise<RoleHandle> {
  const grpc = await startGrpcServer({
    role: "store",
    host: config.store.host,
    port: config.store.port,
    services: [{ name: "whaleshark.v1.HistoryService", definition: HistoryServiceService, handlers: {} }],
    logger: deps.logger,
  });
  return { role: "store", grpcAddress: grpc.address, stop: () => grpc.stop(config.shutdown.graceMs) };
}
