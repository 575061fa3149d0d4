import { TokenRevocations } from "../../lib/auth/index.js";
import type { Config } from "../../lib/config/index.js";
import { AppAuthenticator, InternalAuthenticator, resolveInternalSecret } from "../../lib/grpc/auth.js";
import { startGrpcServer } from "../../lib/grpc/server.js";
import { createMetricsRegistry } from "../../lib/metrics/index.js";
import { Pusher } from "../../lib/push/pusher.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { GatewayDirectory, type RouteModel, serviceNames } from "../../lib/routing/index.js";
import { ChangeTokens } from "./cache/change-tokens.js";
import { Callbacks } from "./callbacks/callbacks.js";
import type { DomainEnv } from "./core/env.js";
import { createMessaging } from "./messaging/messaging.js";
import { Presence } from "./presence/presence.js";
import { domainServices } from "./services.js";
import { RevocationMirror } from "./users/token-revocations.js";

/**
 * How long after its record's `lastSeenMs` a device still counts as online
 * for pushes: twice the gateway's heartbeat timeout, the very window the
 * gateway's SessionStore (`onlineWindowMs`) renews records within, so a
 * device is never skipped while its gateway still holds the connection.
 */
export function onlineWindowMs(config: Config): number {
  return config.gateway.heartbeatTimeoutMs * 2;
}

/** Starts the domain role: its gRPC server on `domain.host:domain.port`. */
export async function startDomain(deps: RoleDeps, config: Config): Promise<RoleHandle> {
  const logger = deps.logger;
  const callbacks = new Callbacks(config.callbacks, logger);
  const env: DomainEnv = {
    db: deps.db,
    kv: deps.kv,
    pusher: new Pusher({ kv: deps.kv, bus: deps.bus, logger, sessionTtlMs: onlineWindowMs(config) }),
    changes: new ChangeTokens(deps.kv),
    callbacks,
    settings: {
      deleteConversationSyncMode: config.domain.deleteConversationSyncMode,
      checkFriendship: config.messaging.checkFriendship,
      checkBlacklist: config.messaging.checkBlacklist,
    },
    now: Date.now,
  };
  // Token revocations: kv mirrors the database column, restored by this process when kv lost it.
  const revocationMirror = new RevocationMirror({ db: deps.db, kv: deps.kv, log: logger });
  const appAuth = new AppAuthenticator({
    apps: config.apps,
    openLogin: config.auth.login === "open",
    kv: deps.kv,
    maxClockSkewMs: config.auth.maxClockSkewMs,
    revocations: new TokenRevocations({
      kv: deps.kv,
      restore: () => revocationMirror.restore(),
      log: logger,
    }),
    userType: async (appId, userId) => {
      const db = await deps.db();
      const user = await db.userData.findFirst({
        where: { appId, userId, delFlag: 0 },
        select: { userType: true },
      });
      return user?.userType ?? null;
    },
  });
  const internalAuth = new InternalAuthenticator(resolveInternalSecret(config));
  const messaging = createMessaging({ env, bus: deps.bus, logger, config });
  // RouteService answers from the gateways registered in discovery (spec §4.6).
  const gateways = GatewayDirectory.watch(deps.discovery, serviceNames(config.discovery.servicePrefix));
  const routes = { gateways, routeModel: config.discovery.routeModel as RouteModel };
  // Online status: evaluates users the gateways marked and pushes 4004 / 4005 (presence/presence.ts).
  const presence = new Presence({
    kv: deps.kv,
    pusher: env.pusher,
    db: deps.db,
    logger,
    settings: { ...config.presence, onlineWindowMs: onlineWindowMs(config) },
  });
  await revocationMirror.start();
  // The domain's own series (its HTTP API per route); app/embedded.ts serves them on /metrics.
  const registry = createMetricsRegistry({ role: "domain", nodeId: config.nodeId });
  callbacks.observeOn(registry);
  const grpc = await startGrpcServer({
    role: "domain",
    host: config.domain.host,
    port: config.domain.port,
    services: domainServices({ env, appAuth, internalAuth, logger, messaging, routes, presence }),
    logger,
    inProcess: deps.inProcess,
    registry,
  });
  presence.start();
  return {
    role: "domain",
    grpcAddress: grpc.address,
    registry,
    stop: async () => {
      await grpc.stop(config.shutdown.graceMs);
      await presence.stop();
      revocationMirror.stop();
      await messaging.close();
      gateways.close();
      await callbacks.drain();
    },
  };
}
