import { randomBytes } from "node:crypto";
import { AppClient } from "../../lib/app-client/index.js";

/** The two deployment profiles a scenario runs against (docs/architecture.md §3). */
export type Profile = "embedded" | "distributed";

/** One gateway's client endpoints. */
export interface GatewayEndpoint {
  /** Process name, e.g. `gateway-1`, as in process samples. */
  name: string;
  host: string;
  tcpPort: number;
  wsPort: number;
  wsPath: string;
  /** The process holding this gateway (the all-in-one process in the embedded profile). */
  pid: number;
  /** Its Prometheus `/metrics` port (heap figures of the process). */
  metricsPort: number;
}

/** A server process whose RSS and CPU a scenario samples. */
export interface ServerProcess {
  name: string;
  pid: number;
}

/** The app every scenario signs its users into. */
export interface BenchApp {
  appId: number;
  privateKey: string;
  /** Listed in the app's `adminIds`, so set-up calls pass the app-admin checks (D4). */
  adminId: string;
}

/** A running WhaleShark deployment under test. */
export interface BenchTarget {
  profile: Profile;
  app: BenchApp;
  /** Domain gRPC address (host:port), where set-up calls go. */
  domainAddress: string;
  gateways: GatewayEndpoint[];
  processes: ServerProcess[];
  /** Where the server processes' logs are. */
  logDir: string;
  /** A gRPC client for set-up as the app admin; close it when done. */
  admin(): AppClient;
  /** Stops every process and removes what the run created (database, keys, queues, data dir). */
  stop(): Promise<void>;
}

/** How to start a target. */
export interface TargetOptions {
  profile: Profile;
  /** Gateway processes (distributed only; embedded has its one gateway). */
  gateways: number;
  /** distributed: the kv on a Redis Cluster started for the run (lib/testing/redis-cluster.ts). */
  redisCluster?: boolean;
  /** `log.level` of the servers (their logs go to files under `logDir`). */
  logLevel: string;
  logDir: string;
  /** Extra WHALESHARK_* variables for every server process (e.g. a heartbeat timeout). */
  env: Record<string, string>;
  /** When set, every server process writes a V8 CPU profile (`--cpu-prof`) into this folder at exit. */
  cpuProfileDir?: string;
}

/** A fresh app with a random key and a configured admin, for one run. */
export function benchApp(): BenchApp {
  return { appId: 10001, privateKey: randomBytes(16).toString("hex"), adminId: "bench-admin" };
}

/** The environment every server process of a run shares (profile-independent part). */
export function commonEnv(app: BenchApp, options: TargetOptions): Record<string, string> {
  return {
    WHALESHARK_APPS: JSON.stringify({
      [String(app.appId)]: { privateKey: app.privateKey, adminIds: [app.adminId] },
    }),
    WHALESHARK_LOG__LEVEL: options.logLevel,
    WHALESHARK_LOG__PRETTY: "false",
    // Load generators connect from few addresses; the per-IP cap protects production, not this.
    WHALESHARK_GATEWAY__MAX_CONNECTIONS_PER_IP: "10000000",
    // Tens of thousands of logins at once (idle) queue longer than a device's 10 s login deadline;
    // the generator's own login timeout is 60 s, so the server's is raised to match.
    WHALESHARK_GATEWAY__LOGIN_TIMEOUT_MS: "60000",
    WHALESHARK_GATEWAY__GRPC_PORT: "0",
    WHALESHARK_GATEWAY__TCP_PORT: "0",
    WHALESHARK_GATEWAY__WS_PORT: "0",
    WHALESHARK_METRICS__GATEWAY_PORT: "0",
    WHALESHARK_METRICS__DOMAIN_PORT: "0",
    WHALESHARK_METRICS__STORE_PORT: "0",
    WHALESHARK_SHUTDOWN__GRACE_MS: "3000",
    ...options.env,
  };
}

/** Node flags for every server process: `--cpu-prof` when asked (not allowed in NODE_OPTIONS). */
export function nodeFlags(options: TargetOptions): string[] {
  return options.cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`];
}

/** A gateway on 127.0.0.1 with the default WebSocket path. */
export function gatewayEndpoint(
  name: string,
  pid: number,
  ports: { tcpPort: number; wsPort: number; metricsPort: number },
): GatewayEndpoint {
  return { name, host: "127.0.0.1", ...ports, wsPath: "/ws", pid };
}

/** Starts the target of `options.profile`. */
export async function startTarget(options: TargetOptions): Promise<BenchTarget> {
  if (options.profile === "embedded") {
    const { startEmbedded } = await import("./embedded.js");
    return startEmbedded(options);
  }
  const { startDistributed } = await import("./distributed.js");
  return startDistributed(options);
}

/**
 * Set-up clients for a target: the app-server client signed as the app admin, with a long deadline
 * (an import of thousands of users on a loaded 2-core box).
 */
export function adminFactory(app: BenchApp, address: string): () => AppClient {
  return () =>
    new AppClient({
      target: address,
      appId: app.appId,
      identity: { userId: app.adminId, privateKey: app.privateKey },
      timeoutMs: 60_000,
    });
}

/** Concurrent set-up calls: enough to hide round trips, few enough not to swamp a 2-core box. */
export const SETUP_PARALLEL = 4;
