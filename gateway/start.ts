import type { Registry } from "prom-client";
import { TokenRevocations } from "../lib/auth/index.js";
import type { Config } from "../lib/config/index.js";
import { resolveInternalSecret } from "../lib/grpc/auth.js";
import { grpcPolicyOf, startGrpcServer } from "../lib/grpc/server.js";
import { createMetricsRegistry, startRoleMetrics } from "../lib/metrics/index.js";
import { ConnectionLimiter } from "../lib/net/connection-limiter.js";
import { capToDescriptors, openFilesLimit } from "../lib/net/descriptor-limit.js";
import { PresenceMarks } from "../lib/presence/presence-keys.js";
import { Pusher } from "../lib/push/pusher.js";
import { ReceiveAckGate } from "../lib/push/receive-ack.js";
import type { RoleDeps, RoleHandle } from "../lib/role/role.js";
import { type ChatCalls, GrpcChatCalls } from "./commands/chat-client.js";
import type { GatewayContext } from "./commands/context.js";
import { forwardFailureLog } from "./commands/forward.js";
import { GrpcHistoryCalls, type HistoryCalls } from "./commands/history-client.js";
import { SendBatcher } from "./commands/send-batcher.js";
import { SendLoad, sendLoadLimits } from "./commands/send-load.js";
import { SendRateLimiter, sendRateLimits } from "./commands/send-rate.js";
import { createGatewayConsole } from "./console/index.js";
import { startDeliveryConsumer } from "./delivery/consumer.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import { Connection } from "./session/connection.js";
import { connectionHooks } from "./session/connection-hooks.js";
import { startHeartbeatMonitor } from "./session/heartbeat-monitor.js";
import { LocalRegistry } from "./session/local-registry.js";
import { startSessionRestorer } from "./session/session-restorer.js";
import { SessionStore } from "./session/session-store.js";
import { allowedOrigins, originPolicy } from "./transport/origin-policy.js";
import { startTcpServer } from "./transport/tcp-server.js";
import type { Transport } from "./transport/transport.js";
import { startWsServer } from "./transport/ws-server.js";

/** A running gateway: the role handle plus what operators and tests need to reach it. */
export interface GatewayHandle extends RoleHandle {
  role: "gateway";
  nodeId: string;
  /** Bound ports (useful when the config asked for 0). */
  tcpPort: number;
  wsPort: number;
  /** The `/metrics` port, undefined when `metrics.enabled` is false. */
  metricsPort: number | undefined;
  /** This role's Prometheus registry. */
  metrics: Registry;
  /** Open client connections right now. */
  connectionCount(): number;
}

/** Test seams; production passes none. */
export interface GatewayOptions {
  /** Replaces the gRPC ChatService client (default: the domain through discovery, `deps.grpcTargets.domain`, with the internal secret). */
  chat?: ChatCalls;
  /** Replaces the gRPC HistoryService client (default: the store through discovery, `deps.grpcTargets.store`, with the internal secret). */
  history?: HistoryCalls;
}

/** Waits for `p`, at most `ms`; never rejects. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Starts the gateway role (docs/architecture.md §2, issue 3): the TCP (`gateway.tcpPort`, 19001) and
 * WebSocket (`gateway.wsPort`, 19002, `gateway.wsPath`) listeners with the original's frame protocol, this
 * node's delivery consumer (`deliveryQueue(nodeId)`), the heartbeat monitor, its gRPC endpoint
 * (health, plus reflection per `grpc.reflection`, on `gateway.grpcHost`) and its `/metrics`
 * endpoint. Both client listeners share one connection budget (`gateway.maxConnections`,
 * `maxConnectionsPerIp`, counted at the TCP accept), and a connection must log in within
 * `gateway.loginTimeoutMs` of its accept (SECURITY.md). Sessions live in `deps.kv`, kicks and pushes
 * travel on `deps.bus`; chat frames go to the domain over gRPC, sync commands (9007 / 9009) to
 * the store's HistoryService.
 *
 * `stop()`: stops accepting, stops consuming deliveries, closes every connection
 * (`server-stopping`: each logged-in device is marked offline), waits for those session writes
 * and the listeners within `shutdown.graceMs`, then stops gRPC and metrics.
 */
export async function startGateway(
  deps: RoleDeps,
  config: Config,
  options: GatewayOptions = {},
): Promise<GatewayHandle> {
  const logger = deps.logger;
  const g = config.gateway;
  const registry = createMetricsRegistry({ role: "gateway", nodeId: config.nodeId });
  const metrics = new GatewayMetrics(registry);
  const chat =
    options.chat ??
    new GrpcChatCalls(
      deps.grpcTargets.domain,
      resolveInternalSecret(config),
      g.forwardTimeoutMs,
      deps.inProcess,
    );
  const history =
    options.history ??
    new GrpcHistoryCalls(
      deps.grpcTargets.store,
      resolveInternalSecret(config),
      g.forwardTimeoutMs,
      deps.inProcess,
    );
  const sessions = new SessionStore(deps.kv, g);
  const ctx: GatewayContext = {
    config,
    nodeId: config.nodeId,
    registry: new LocalRegistry(),
    sessions,
    bus: deps.bus,
    chat,
    sends: new SendBatcher((req) => chat.sendMessages(req)),
    history,
    metrics,
    logger,
    pusher: new Pusher({ kv: deps.kv, bus: deps.bus, logger, sessionTtlMs: sessions.onlineWindowMs }),
    receipts: new ReceiveAckGate(deps.kv),
    revocations: new TokenRevocations({ kv: deps.kv, log: logger }),
    sendRate: new SendRateLimiter(sendRateLimits(config)),
    sendLoad: new SendLoad(sendLoadLimits(config)),
    forwardFailures: forwardFailureLog(logger),
    presence: new PresenceMarks(deps.kv, config.presence.coalesceMs),
  };
  const pending = new Set<Promise<unknown>>();
  const hooks = connectionHooks(ctx, pending);
  const accept = (transport: Transport): Connection => {
    // Every line the connection logs names its peer (malformed frames, closes, the login deadline).
    const log = logger.child({ remote: transport.remote });
    const conn = new Connection(
      transport,
      hooks,
      log,
      transport.acceptedAtMs,
      g.maxInFlightSends,
      g.loginTimeoutMs,
    );
    ctx.registry.add(conn);
    metrics.opened(transport.kind);
    return conn;
  };
  const fdLimit = openFilesLimit();
  const maxConnections = capToDescriptors(g.maxConnections, fdLimit);
  if (maxConnections < g.maxConnections) {
    logger.warn(
      { configured: g.maxConnections, effective: maxConnections, openFilesLimit: fdLimit },
      "gateway.maxConnections lowered to fit the open-files limit (ulimit -n)",
    );
  }
  const limiter = new ConnectionLimiter({ maxConnections, maxConnectionsPerIp: g.maxConnectionsPerIp });
  const origins = allowedOrigins(g.allowedOrigins, config.profile);
  const listener = {
    host: g.host,
    maxFrameBytes: g.maxFrameBytes,
    sendQueueMaxBytes: g.sendQueueMaxBytes,
    limiter,
    observer: metrics,
    logger,
    accept,
  };

  const consumer = await startDeliveryConsumer({
    bus: deps.bus,
    nodeId: config.nodeId,
    registry: ctx.registry,
    metrics,
    logger,
  });
  // Health (and, in development, reflection) only: nothing calls the gateway over gRPC, so its
  // port stays on loopback unless an orchestrator's probe needs it (gateway.grpcHost).
  const grpc = await startGrpcServer({
    role: "gateway",
    host: g.grpcHost,
    port: g.grpcPort,
    services: [],
    logger,
    policy: grpcPolicyOf(config),
  });
  const metricsServer = await startRoleMetrics(config, "gateway", registry, logger);
  const tcp = await startTcpServer({ ...listener, port: g.tcpPort });
  // The web console answers plain HTTP on the WebSocket port (404 where gateway.console is off).
  const webConsole = createGatewayConsole({
    config,
    registry,
    origins: originPolicy(origins),
    logger,
    domainTarget: deps.grpcTargets.domain,
    inProcess: deps.inProcess,
    discovery: deps.discovery,
  });
  const ws = await startWsServer({
    ...listener,
    port: g.wsPort,
    path: g.wsPath,
    handshakeTimeoutMs: g.handshakeTimeoutMs,
    origins: originPolicy(origins),
    http: webConsole.handle,
  });
  const heartbeat = startHeartbeatMonitor(ctx.registry, g.heartbeatTimeoutMs);
  const restorer = await startSessionRestorer({
    kv: deps.kv,
    registry: ctx.registry,
    sessions,
    nodeId: config.nodeId,
    logger,
    presence: ctx.presence,
  });
  logger.info(
    {
      nodeId: config.nodeId,
      tcpPort: tcp.port,
      wsPort: ws.port,
      wsPath: g.wsPath,
      grpcPort: grpc.port,
      metricsPort: metricsServer?.port,
      loginMode: g.loginMode,
      login: config.auth.login,
      maxConnections,
      maxConnectionsPerIp: g.maxConnectionsPerIp,
      loginTimeoutMs: g.loginTimeoutMs,
      allowedOrigins: origins,
    },
    "gateway listening",
  );

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const grace = config.shutdown.graceMs;
    const listenersClosed = Promise.all([tcp.stopAccepting(), ws.stopAccepting()]);
    await within(consumer.stop(), grace);
    heartbeat.stop();
    restorer.stop();
    for (const conn of ctx.registry.all()) conn.close("server-stopping");
    await within(Promise.all([...pending]), grace);
    await within(listenersClosed, grace);
    chat.close();
    history.close();
    webConsole.close();
    await grpc.stop(grace);
    await metricsServer?.stop();
    logger.info("gateway stopped");
  };
  return {
    role: "gateway",
    grpcAddress: grpc.address,
    nodeId: config.nodeId,
    tcpPort: tcp.port,
    wsPort: ws.port,
    endpoints: { tcpPort: tcp.port, wsPort: ws.port },
    metricsPort: metricsServer?.port,
    metrics: registry,
    connectionCount: () => ctx.registry.size,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}
