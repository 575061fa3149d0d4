import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { contractDescriptor } from "./descriptor.js";
import type { InProcessServices } from "./in-process.js";

/** One gRPC service to mount: its ts-proto definition and its handlers. */
export interface MountedService {
  /** Fully qualified name, e.g. `whaleshark.v1.UserService` (health reports it). */
  name: string;
  definition: grpc.ServiceDefinition;
  /**
   * Handlers by method name. A method left out answers UNIMPLEMENTED (grpc-js
   * does that for missing handlers), so a role can start before it is built.
   */
  handlers: grpc.UntypedServiceImplementation;
}

/** Options for {@link startGrpcServer}. */
export interface GrpcServerOptions {
  role: string;
  host: string;
  /** 0 picks a free port; the bound port is in the result and in the log. */
  port: number;
  services: MountedService[];
  logger: Logger;
  /** Largest request or response in bytes (default 4 MiB, grpc-js's own default). */
  maxMessageBytes?: number;
  /**
   * Roles of this same process call these services directly while the server
   * runs (in-process.ts; `whaleshark start`). Absent: network callers only.
   */
  inProcess?: InProcessServices;
}

/** A running gRPC server. */
export interface RunningGrpcServer {
  port: number;
  address: string;
  /** Marks every service NOT_SERVING (so balancers stop sending), then drains. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Starts a gRPC server with our services plus the two every server carries
 * (DESIGN.md §5): the standard health service (`grpc.health.v1.Health`, "" and
 * each service SERVING) and server reflection over the whole contract.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const max = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": max,
    "grpc.max_send_message_length": max,
  });
  const status: Record<string, "SERVING"> = { "": "SERVING" };
  for (const svc of opts.services) {
    server.addService(svc.definition, svc.handlers);
    status[svc.name] = "SERVING";
  }
  const health = new HealthImplementation(status);
  health.addToServer(server);
  new ReflectionService(contractDescriptor()).addToServer(server);

  const address = `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`${opts.role}: cannot listen on ${address}: ${err.message}`)) : resolve(bound),
    );
  });
  const log = opts.logger.child({ component: "grpc" });
  log.info({ host: opts.host, port, services: opts.services.map((s) => s.name) }, "grpc server listening");
  const unregister = opts.inProcess?.register(opts.services);

  return {
    port,
    address: `${opts.host}:${port}`,
    stop: (graceMs) => {
      unregister?.(); // in-process callers now meet the stopping server over the network, like others
      for (const name of Object.keys(status)) health.setStatus(name, "NOT_SERVING");
      return new Promise<void>((resolve) => {
        // tryShutdown lets in-flight calls finish; after the grace period the
        // rest are cancelled so shutdown never hangs on a stuck stream.
        const timer = setTimeout(() => {
          log.warn({ graceMs }, "grace period over, cancelling in-flight calls");
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          log.info("grpc server stopped");
          resolve();
        });
      });
    },
  };
}
