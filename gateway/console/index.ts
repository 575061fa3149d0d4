import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { AppClient, ensureUsers } from "../../lib/app-client/index.js";
import type { Config } from "../../lib/config/index.js";
import type { InProcessServices } from "../../lib/grpc/in-process.js";
import type { Discovery } from "../../lib/ports/discovery.js";
import { serviceNames } from "../../lib/routing/index.js";
import type { OriginPolicy } from "../transport/origin-policy.js";
import { createConsoleHandler } from "./handler.js";
import { OpsSampler } from "./ops.js";
import { consoleSettings } from "./settings.js";
import { CONSOLE_DIR } from "./static-files.js";

/** The console of one gateway: its HTTP routes and what to release at stop. */
export interface GatewayConsole {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

/** What the gateway hands its console. */
export interface GatewayConsoleDeps {
  config: Config;
  /** This gateway's Prometheus registry (ops.json reads it). */
  registry: Registry;
  origins: OriginPolicy;
  logger: Logger;
  /** gRPC target of the domain (discovery) and this process's in-process servers. */
  domainTarget: string;
  inProcess: InProcessServices | undefined;
  /** Where the domain's real port is found (its HTTP API; `domain.port` may be 0 in tests). */
  discovery: Discovery;
  /** The built page's folder; default gen/console (tests). */
  root?: string;
}

/**
 * Builds the web console of a gateway (README "Web console"): off → every console path 404;
 * on → the page, config.json, ops.json and, when `console.demoLogin` is on, the demo login, which
 * creates users as the app's first admin through the domain's public UserService. The demo login
 * is announced once at start with a warning.
 */
export function createGatewayConsole(deps: GatewayConsoleDeps): GatewayConsole {
  const { config, logger } = deps;
  const settings = consoleSettings(config);
  const app = config.apps[String(settings.appId)];
  const adminId = app?.adminIds?.[0];
  const admin =
    settings.enabled && settings.demoLogin && app !== undefined && adminId !== undefined
      ? new AppClient({
          target: deps.domainTarget,
          appId: settings.appId,
          identity: { userId: adminId, privateKey: app.privateKey },
          timeoutMs: config.gateway.forwardTimeoutMs,
          ...(deps.inProcess === undefined ? {} : { local: deps.inProcess }),
        })
      : undefined;
  // A user seen once needs no second ImportUsers; bounded so typing ids cannot grow it forever.
  const known = new Set<string>();
  const ensureUser =
    admin === undefined
      ? undefined
      : async (userId: string): Promise<"user" | "admin"> => {
          if (known.has(userId)) return "user";
          const result = await ensureUsers(admin, [{ userId }]);
          if (result.refused.length > 0) throw new Error(`ImportUsers refused ${userId}`);
          if (result.admins.includes(userId)) return "admin"; // user_type 100: never cached as a user
          if (known.size >= 10_000) known.clear();
          known.add(userId);
          return "user";
        };
  if (settings.enabled && settings.demoLogin) {
    logger.warn(
      { appId: settings.appId, profile: config.profile },
      "console demo login is ON: anyone who reaches the WebSocket port can sign in as any non-admin user (console.demoLogin=false turns it off)",
    );
    if (admin === undefined) {
      logger.warn(
        { appId: settings.appId },
        "console demo login cannot create users: the app has no admin (apps.<appId>.adminIds)",
      );
    }
  }
  // Embedded: the page calls the domain's HTTP API on the port the domain really bound, which the
  // in-process discovery registry knows (config says 0 when tests ask for any free port).
  let domainPort: number | undefined = config.domain.port === 0 ? undefined : config.domain.port;
  const embeddedApi = config.profile === "embedded" && config.http.enabled;
  const unwatch = embeddedApi
    ? deps.discovery.watch(serviceNames(config.discovery.servicePrefix).domain, (instances) => {
        domainPort = instances[0]?.port ?? domainPort;
      })
    : undefined;
  const handle = createConsoleHandler({
    enabled: settings.enabled,
    profile: settings.profile,
    appId: settings.appId,
    wsPath: config.gateway.wsPath,
    httpApi: {
      configured: settings.httpApi,
      embeddedPort: () => (embeddedApi ? domainPort : undefined),
    },
    demo: {
      enabled: settings.demoLogin,
      appId: settings.appId,
      privateKey: app?.privateKey,
      adminIds: app?.adminIds ?? [],
      ensureUser,
    },
    ops: new OpsSampler(deps.registry),
    origins: deps.origins,
    logger,
    root: deps.root ?? CONSOLE_DIR,
  });
  return {
    handle,
    close: () => {
      unwatch?.();
      admin?.close();
    },
  };
}

export { consoleSettings, DEMO_USERS } from "./settings.js";
