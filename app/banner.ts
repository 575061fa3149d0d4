import { resolve } from "node:path";
import { consoleSettings } from "../gateway/console/settings.js";
import type { Config } from "../lib/config/index.js";
import type { RoleHandle } from "../lib/role/role.js";
import type { SeedOutcome } from "./seed-demo.js";

/** A listen address as a person types it: a wildcard bind is reached on localhost. */
function reachable(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "localhost" : host;
}

/** host:port of a role's gRPC address, with a wildcard host shown as localhost. */
function address(grpcAddress: string | undefined): string {
  if (grpcAddress === undefined) return "?";
  const at = grpcAddress.lastIndexOf(":");
  return `${reachable(grpcAddress.slice(0, at))}${grpcAddress.slice(at)}`;
}

/** The console's URL as a person opens it, or undefined where `gateway.console` is off. */
export function consoleUrl(config: Config, handles: readonly RoleHandle[]): string | undefined {
  if (!consoleSettings(config).enabled) return undefined;
  const wsPort = handles.find((h) => h.role === "gateway")?.endpoints?.wsPort ?? config.gateway.wsPort;
  return `http://${reachable(config.gateway.host)}:${wsPort}/`;
}

/**
 * The few lines `whaleshark start` prints once it serves (issue 17): where to open the console,
 * the client and API addresses, where the data lives, and the demo admin and how to get its token.
 * Written to stderr, so stdout stays one JSON log line per line for whoever collects it.
 */
export function startBanner(config: Config, handles: readonly RoleHandle[], seed: SeedOutcome): string {
  const byRole = new Map(handles.map((h) => [h.role, h]));
  const gateway = byRole.get("gateway");
  const host = reachable(config.gateway.host);
  const wsPort = gateway?.endpoints?.wsPort ?? config.gateway.wsPort;
  const tcpPort = gateway?.endpoints?.tcpPort ?? config.gateway.tcpPort;
  const settings = consoleSettings(config);
  const url = consoleUrl(config, handles);
  const appId = settings.appId;
  const admin = config.apps[String(appId)]?.adminIds?.[0];
  const domain = address(byRole.get("domain")?.grpcAddress);
  const store = address(byRole.get("store")?.grpcAddress);
  const lines = [
    "",
    `  WhaleShark is running (${config.profile} profile)`,
    "",
    url === undefined
      ? "  Console    off (gateway.console)"
      : `  Console    ${url}${settings.demoLogin ? "   (demo login ON: anyone can sign in)" : ""}`,
    `  Clients    tcp://${host}:${tcpPort}   ws://${host}:${wsPort}${config.gateway.wsPath}`,
    `  gRPC+HTTP  domain ${domain}   store ${store}`,
    config.profile === "embedded"
      ? `  Data       ${resolve(config.dataDir)}`
      : "  Data       PostgreSQL, Redis, RabbitMQ (distributed)",
  ];
  if (seed.seeded)
    lines.push(`  Demo data  users ${seed.users.join(", ")}, group "${seed.groupId}" (seeded now)`);
  else if (seed.reason === "already")
    lines.push("  Demo data  alice, bob, carol (seeded at the first start)");
  if (admin !== undefined) {
    lines.push(
      `  Admin      app ${appId}, user "${admin}": npx whaleshark token --app ${appId} --user ${admin}`,
      "             add users: npx whaleshark user add dave --nickname Dave",
    );
  }
  lines.push("");
  return `${lines.join("\n")}\n`;
}
