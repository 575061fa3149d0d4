import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { type Config, ConfigError, loadConfig } from "../lib/config/index.js";
import { createDiscovery } from "./discovery.js";
import { LocalCluster, type RunningMember } from "./local-cluster.js";
import { runMigrate } from "./migrate.js";
import { startOrder } from "./roles.js";

/** Processes per role that `whaleshark cluster` starts. */
export const CLUSTER_SIZE = 2;

/** The local servers a cluster uses when the configuration names none (`whaleshark cluster` only). */
export const LOCAL_SERVERS = {
  WHALESHARK_DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/whaleshark",
  WHALESHARK_REDIS_URL: "redis://127.0.0.1:6379",
  WHALESHARK_AMQP_URL: "amqp://guest:guest@127.0.0.1:5672",
} as const;

/**
 * The environment every member shares: the caller's, in the distributed profile, with the local
 * servers for URLs the configuration lacks, ZooKeeper discovery when it says `static` (the only
 * registry on a developer machine; static cannot list two domains) and a secret for this run
 * when `domain.internalSecret` is unset. `config` is what the caller's environment loaded to.
 */
export function clusterEnv(config: Config, env: NodeJS.ProcessEnv, file?: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, WHALESHARK_PROFILE: "distributed" };
  if (file !== undefined) out.WHALESHARK_CONFIG = resolve(file);
  if (config.database.url === undefined) out.WHALESHARK_DATABASE_URL = LOCAL_SERVERS.WHALESHARK_DATABASE_URL;
  if (config.redis.url === undefined) out.WHALESHARK_REDIS_URL = LOCAL_SERVERS.WHALESHARK_REDIS_URL;
  if (config.amqp.url === undefined) out.WHALESHARK_AMQP_URL = LOCAL_SERVERS.WHALESHARK_AMQP_URL;
  if (config.discovery.kind === "static") out.WHALESHARK_DISCOVERY__KIND = "zookeeper";
  if (config.domain.internalSecret === undefined) {
    out.WHALESHARK_DOMAIN__INTERNAL_SECRET = randomBytes(24).toString("base64url");
  }
  return out;
}

/**
 * `whaleshark cluster`: `whaleshark migrate`, then 2 stores, 2 domains and 2 gateways as separate
 * processes (store first, edge last, as app/roles.ts `startOrder`), each ready once registered in
 * discovery. Prints where each listens, forwards their log lines, and on SIGINT/SIGTERM stops the
 * gateways, then the domains, then the stores (SIGTERM, SIGKILL after `shutdown.graceMs` + 5 s).
 * A member that dies meanwhile is reported and not restarted: the others carry on, which is how
 * a killed node is tried out. Resolves with 0 after a clean stop, 1 when start-up failed or was
 * interrupted (what was spawned is stopped the same way) or a member did not stop cleanly, 2 on
 * bad configuration.
 */
export async function runCluster(
  config: Config,
  logger: Logger,
  opts: { env: NodeJS.ProcessEnv; file?: string },
): Promise<number> {
  const env = clusterEnv(config, opts.env, opts.file);
  let base: Config;
  try {
    base = loadConfig({ env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  // Signals are caught from here on, so Ctrl-C during start-up also stops what was spawned.
  let stopping = false;
  let cluster: LocalCluster | undefined;
  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (s: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal: s }, "second signal: killing every member");
      for (const m of cluster?.members ?? []) void m.member.kill();
      return;
    }
    stopping = true;
    logger.info({ signal: s }, "stopping the cluster");
    signalled(s);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let found: Awaited<ReturnType<typeof createDiscovery>> | undefined;
  let started = false;
  try {
    if ((await runMigrate(base, logger)) !== 0) throw new Error("migration failed");
    found = await createDiscovery(base, logger);
    const local = new LocalCluster(base, env, found.discovery, logger);
    cluster = local;
    for (const role of startOrder) {
      if (stopping) break;
      const wave = Promise.all(Array.from({ length: CLUSTER_SIZE }, (_, i) => local.start(role, i + 1)));
      wave.catch(() => undefined); // a signal may win the race below; the wave's error is moot then
      await Promise.race([wave, signal]);
    }
    started = !stopping;
  } catch (err) {
    // e.g. the database does not exist yet, ZooKeeper is not running, a member exited
    logger.error({ err }, "cluster start-up failed");
  }
  if (started && cluster !== undefined) {
    printMembers(cluster.members, logger);
    for (const m of cluster.members) {
      void m.member.exited.then((e) => {
        if (!stopping)
          logger.warn({ member: m.member.name, nodeId: m.nodeId, ...e }, "cluster member exited");
      });
    }
    await signal;
  }
  const stopped = (await cluster?.stop()) ?? 0;
  await found?.discovery.close();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const code = started ? stopped : 1;
  logger.info({ code }, "cluster stopped");
  return code;
}

function printMembers(members: RunningMember[], logger: Logger): void {
  const rows = members.map((m) => ({
    name: m.member.name,
    role: m.role,
    nodeId: m.nodeId,
    pid: m.member.pid,
    listens: Object.fromEntries(Object.entries(m.instances).map(([s, i]) => [s, `${i.host}:${i.port}`])),
    grpcPort: m.member.logs.find((l) => l.msg === "grpc server listening")?.port,
    metricsPort: m.member.logs.find((l) => l.msg === "metrics endpoint listening")?.port,
  }));
  logger.info({ members: rows }, "cluster ready");
  const lines = rows.map((r) => {
    const at = Object.entries(r.listens).map(([s, a]) => `${s} ${a}`);
    if (r.role === "gateway" && r.grpcPort !== undefined) at.push(`grpc :${r.grpcPort}`);
    if (r.metricsPort !== undefined) at.push(`metrics :${r.metricsPort}`);
    return `  ${r.name.padEnd(10)} pid ${String(r.pid).padEnd(7)} node ${r.nodeId}  ${at.join("  ")}`;
  });
  process.stdout.write(`whaleshark cluster ready (Ctrl-C stops it):\n${lines.join("\n")}\n`);
}
