import type { Config } from "../../lib/config/index.js";
import { startGrpcServer } from "../../lib/grpc/server.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { domainServices } from "./services.js";

/** Starts the domain role: its gRPC server on `domain.host:domain.port`. */
export async function startDomain(deps: RoleDeps, config: Config): Promise<RoleHandle> {
  const grpc = await startGrpcServer({
    role: "domain",
    host: config.domain.host,
    port: config.domain.port,
    services: domainServices(),
    logger: deps.logger,
  });
  return { role: "domain", grpcAddress: grpc.address, stop: () => grpc.stop(config.shutdown.graceMs) };
}
