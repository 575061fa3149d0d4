import { createServer, type Server, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Config } from "../config/index.js";
import { HttpEdge, type HttpEdgePolicy } from "../http/edge.js";
import { HttpMetrics } from "../http/metrics.js";
import { RouteTable } from "../http/routes.js";
import { Http1Side, routeByPreface } from "../http/shared-port.js";
import { ConnectionLimiter, type ConnectionLimits, peerOf, RefusalLog } from "../net/connection-limiter.js";
import { allowedOrigins } from "../net/origin-policy.js";
import { contractDescriptor } from "./descriptor.js";
import { InProcessServices } from "./in-process.js";
import { addLazyReflection } from "./lazy-reflection.js";

/**
 * What server reflection lists: `all` the whole contract (every service of every role: a
 * development convenience), `public` the services this server mounts except the internal ones,
 * `off` nothing (the reflection service is not mounted). Reflection is a convenience for tools,
 * not a boundary: the contracts are public, and every service authenticates its callers.
 */
export type ReflectionMode = "all" | "public" | "off";

/** Services only gateways call (with the internal secret); `public` reflection does not list them. */
export const INTERNAL_SERVICES: readonly string[] = ["whaleshark.v1.ChatService"];

/** How every gRPC server of a process is exposed (the `grpc` config section). */
export interface GrpcServerPolicy {
  reflection: ReflectionMode;
  /** Connection caps, counted at accept before any HTTP/2 work. */
  limits: ConnectionLimits;
  /** A connection that has not sent the HTTP/2 preface and SETTINGS header this long after accept is closed. */
  handshakeTimeoutMs: number;
  /**
   * The server PINGs each connection this often and drops it when the answer does not come within
   * min(this, 20 s). Besides dead peers this ends sessions Node's HTTP/2 leaves behind: after some
   * protocol errors (a HEADERS frame that fails HPACK decoding, seen while fuzzing) the session
   * stops reading, so the peer's close is never noticed and the socket would sit in CLOSE-WAIT,
   * holding its descriptor and its slot, for good.
   */
  keepaliveTimeMs: number;
  /**
   * The HTTP/JSON API on the same port (lib/http, issue 14): HTTP/1.1 connections go to it, HTTP/2
   * ones to grpc-js. Undefined: gRPC only.
   */
  http?: HttpEdgePolicy;
}

/** The policy of a server started without one and before {@link configureGrpcServers}: the safe one. */
export const DEFAULT_GRPC_POLICY: GrpcServerPolicy = {
  reflection: "public",
  limits: { maxConnections: 1024, maxConnectionsPerIp: 128 },
  handshakeTimeoutMs: 10_000,
  keepaliveTimeMs: 60_000,
  http: { allowedOrigins: [], maxBodyBytes: 1024 * 1024, timeoutMs: 10_000, idleTimeoutMs: 30_000 },
};

/** The `grpc` config section as a policy; reflection unset = `all` in the embedded profile, `public` otherwise. */
export function grpcPolicyOf(config: Config): GrpcServerPolicy {
  const g = config.grpc;
  return {
    reflection: g.reflection ?? (config.profile === "embedded" ? "all" : "public"),
    limits: { maxConnections: g.maxConnections, maxConnectionsPerIp: g.maxConnectionsPerIp },
    handshakeTimeoutMs: g.handshakeTimeoutMs,
    keepaliveTimeMs: g.keepaliveTimeMs,
    http: config.http.enabled
      ? {
          allowedOrigins: allowedOrigins(config.http.allowedOrigins, config.profile),
          maxBodyBytes: config.http.maxBodyBytes,
          timeoutMs: config.http.timeoutMs,
          idleTimeoutMs: config.http.idleTimeoutMs,
          openLogin: config.auth.login === "open",
        }
      : undefined,
  };
}

let processPolicy: GrpcServerPolicy = DEFAULT_GRPC_POLICY;

/**
 * Sets the policy of every gRPC server this process starts without an explicit `policy` (the
 * domain and store roles). Composition roots call it once with the loaded config, before any role
 * starts; a process that never calls it gets {@link DEFAULT_GRPC_POLICY}.
 */
export function configureGrpcServers(config: Config): void {
  processPolicy = grpcPolicyOf(config);
}

/** Bytes of the HTTP/2 client preface (RFC 9113 §3.4: 24 octets, then a SETTINGS frame's 9-octet header). */
const HTTP2_PREFACE_BYTES = 24 + 9;

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
  /** Reflection and limits; absent: the process's policy ({@link configureGrpcServers}). */
  policy?: GrpcServerPolicy;
  /** Where the HTTP API's per-route series go (the role's registry); absent: not exported. */
  registry?: Registry;
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
 * (docs/architecture.md §5): the standard health service (`grpc.health.v1.Health`, "" and
 * each service SERVING) and server reflection as the policy says.
 *
 * The port is a plain TCP listener in front of grpc-js (its connection injector,
 * grpc-js ≥ 1.10): grpc-js has no cap on connections (`grpc.max_concurrent_streams`
 * bounds streams per connection, `grpc.max_connection_age_ms` and
 * `grpc-node.max_session_memory` only act on connections already open), so the caps
 * of the policy are checked at accept, and a socket that has not sent the HTTP/2
 * preface within the handshake timeout is closed, before grpc-js sees either. Keepalive
 * PINGs (policy.keepaliveTimeMs) end connections whose peer is gone.
 */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const max = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const policy = opts.policy ?? processPolicy;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": max,
    "grpc.max_send_message_length": max,
    "grpc.keepalive_time_ms": policy.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": Math.min(20_000, policy.keepaliveTimeMs),
  });
  const status: Record<string, "SERVING"> = { "": "SERVING" };
  for (const svc of opts.services) {
    server.addService(svc.definition, svc.handlers);
    status[svc.name] = "SERVING";
  }
  const health = new HealthImplementation(status);
  health.addToServer(server);
  const listed = reflected(policy.reflection, opts.services);
  if (listed !== null) addLazyReflection(server, contractDescriptor, listed.services);

  const log = opts.logger.child({ component: "grpc" });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const limiter = new ConnectionLimiter(policy.limits);
  const refusals = new RefusalLog(log, `grpc ${opts.role}`);
  const http = httpSideOf(opts, policy);
  const gate: Server = createServer({ noDelay: true }, (socket) => {
    const refusal = limiter.admit(socket);
    if (refusal !== undefined) {
      socket.on("error", () => undefined);
      refusals.refused(peerOf(socket), refusal);
      socket.destroy();
      return;
    }
    const handshake = handshakeDeadline(socket, policy.handshakeTimeoutMs, log);
    if (http === undefined) injector.injectConnection(socket);
    else
      routeByPreface(
        socket,
        () => injector.injectConnection(socket),
        () => {
          handshake.cancel(); // HTTP/1.1 has its own header and idle timeouts (shared-port.ts)
          http.side.accept(socket);
        },
      );
  });
  gate.on("error", (err) => log.error({ err }, "grpc listener error"));
  const address = `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    gate.once("error", (err) =>
      reject(new Error(`${opts.role}: cannot listen on ${address}: ${err.message}`)),
    );
    gate.listen(opts.port, opts.host, () => resolve((gate.address() as { port: number }).port));
  });
  log.info(
    {
      host: opts.host,
      port,
      services: opts.services.map((s) => s.name),
      reflection: policy.reflection,
      httpRoutes: http?.routes ?? 0,
      ...policy.limits,
    },
    "grpc server listening",
  );
  const unregister = opts.inProcess?.register(opts.services);

  return {
    port,
    address: `${opts.host}:${port}`,
    stop: (graceMs) => {
      unregister?.(); // in-process callers now meet the stopping server over the network, like others
      http?.stop(); // HTTP calls from now on get 503; idle keep-alive connections close
      gate.close(); // no new connections; the open ones drain below
      for (const name of Object.keys(status)) health.setStatus(name, "NOT_SERVING");
      return new Promise<void>((resolve) => {
        // tryShutdown lets in-flight calls finish; after the grace period the
        // rest are cancelled so shutdown never hangs on a stuck stream.
        const timer = setTimeout(() => {
          log.warn({ graceMs }, "grace period over, cancelling in-flight calls");
          server.forceShutdown();
          http?.side.close(true);
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

/**
 * The HTTP/1.1 side of the port: the contracts' routes of the services this server mounts
 * (not the internal ones, which need the gateways' secret), answered by the very handlers grpc-js
 * runs (a private in-process registry of them). Undefined when the policy has no HTTP API or the
 * server mounts no service with routes (the gateway's health port).
 */
function httpSideOf(
  opts: GrpcServerOptions,
  policy: GrpcServerPolicy,
): { side: Http1Side; routes: number; stop(): void } | undefined {
  if (policy.http === undefined) return undefined;
  const routes = RouteTable.forServices(
    opts.services.map((s) => s.name),
    INTERNAL_SERVICES,
  );
  if (routes.size === 0) return undefined;
  const local = new InProcessServices();
  local.register(opts.services);
  const edge = new HttpEdge({
    routes,
    local,
    policy: policy.http,
    logger: opts.logger.child({ role: opts.role }),
    metrics: new HttpMetrics(opts.registry),
  });
  const side = new Http1Side(edge, { idleTimeoutMs: policy.http.idleTimeoutMs });
  if (policy.http.openLogin === true) {
    opts.logger.warn(
      { role: opts.role },
      "auth.login is open: HTTP calls without a userSign act as the operater their body names (D4; demos only, never in production)",
    );
  }
  return {
    side,
    routes: routes.size,
    stop: () => {
      edge.stop();
      side.close(false);
    },
  };
}

/** The reflection whitelist of a mode: null = no reflection, undefined = the whole contract. */
function reflected(mode: ReflectionMode, services: MountedService[]): { services?: string[] } | null {
  if (mode === "off") return null;
  if (mode === "all") return {};
  const names = services.map((s) => s.name).filter((n) => !INTERNAL_SERVICES.includes(n));
  // An empty whitelist would list nothing anyway; a server with no public service (the
  // gateway's health port) serves no reflection at all.
  return names.length === 0 ? null : { services: names };
}

/**
 * Closes `socket` unless it has sent the HTTP/2 client preface and a SETTINGS header within
 * `timeoutMs` of its accept: a socket that connects and sends nothing, or a few bytes, would
 * otherwise hold its slot (and a descriptor) for as long as it likes.
 */
function handshakeDeadline(socket: Socket, timeoutMs: number, log: Logger): { cancel(): void } {
  const timer = setTimeout(() => {
    if (socket.bytesRead >= HTTP2_PREFACE_BYTES) return;
    log.debug({ remote: peerOf(socket), bytesRead: socket.bytesRead }, "no HTTP/2 preface in time, closing");
    socket.destroy();
  }, timeoutMs);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  return { cancel: () => clearTimeout(timer) };
}
