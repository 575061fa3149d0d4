import type { Config } from "../lib/config/index.js";
import { startGrpcServer } from "../lib/grpc/server.js";
import type { RoleDeps, RoleHandle } from "../lib/role/role.js";

/**
 * Starts the gateway role: the edge end users connect to. Today it runs its
 * gRPC endpoint (health + reflection on `gateway.grpcPort`) so orchestrators
 * can probe it; the TCP (19001) and WebSocket (19002, `/ws`) listeners with the
 * original's frame protocol are the gateway issue's work and are not started yet.
 */
export async function startGateway(deps: RoleDeps, config: Config): Promise<RoleHandle> {
  const grpc = await startGrpcServer({
    role: "gateway",
    host: config.gateway.host,
    port: config.gateway.grpcPort,
    services: [],
    logger: deps.logger,
  });
  return {
    role: "gateway",
    grpcAddress: grpc.address,
    stop: () => grpc.stop(config.shutdown.graceMs),
  };
}
