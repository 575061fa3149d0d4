import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { connectRedisCluster } from "../adapters/redis/connection.js";
import { deleteClusterKeysWithPrefix } from "../adapters/redis/keys.js";

const run = promisify(execFile);

/** A Redis Cluster of its own for one test file: six local redis-server processes (three masters, three replicas). */
export interface TestRedisCluster {
  /** `redis://127.0.0.1:<port>` of the first master: a seed, as `redis.url` with `redis.cluster: true`. */
  url: string;
  /** `host:port` of every node. */
  nodes: string[];
  /** Kills one node (`host:port`) at once, as a crash would (SIGKILL): failover tests. */
  kill(node: string): Promise<void>;
  /** Stops every process and removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

/** How long the six nodes may take to agree on `cluster_state:ok` (about 1–3 s on a quiet machine). */
const READY_TIMEOUT_MS = 30_000;

/**
 * Starts six `redis-server --cluster-enabled yes` on free loopback ports in a temp dir, joins them
 * with `redis-cli --cluster create … --cluster-replicas 1`, and resolves once every node reports
 * `cluster_state:ok` and every replica finished its first sync (about 3–5 s). Nothing is written to
 * disk beyond the nodes' cluster config files and logs (no RDB, no AOF). The processes are this
 * test's children: `stop()` kills exactly them (so do an exit of the test process and, should it
 * be killed outright, a watchdog shell), never another Redis.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ws-redis-cluster-"));
  const children: ChildProcess[] = [];
  let stopped = false;
  let watchdog: ChildProcess | undefined;
  const killAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killAll);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    watchdog?.kill("SIGKILL");
  };
  try {
    const ports = await freeClusterPorts(6);
    for (const port of ports) children.push(startNode(dir, port));
    watchdog = startWatchdog(children, dir);
    await Promise.all(ports.map((port) => waitFor(() => ping(port), `redis-server on ${port}`)));
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "1", "--cluster-yes"], {
      timeout: READY_TIMEOUT_MS,
    });
    await Promise.all(ports.map((port) => waitFor(() => clusterOk(port), `cluster_state:ok on ${port}`)));
    // A replica that never finished its first sync cannot take over (it counts as too stale), so a
    // failover test right after the start would find the cluster down for good: wait for the links.
    await Promise.all(ports.map((port) => waitFor(() => replicaLinked(port), `a synced replica on ${port}`)));
    const kill = async (node: string) => {
      const child = children[nodes.indexOf(node)];
      if (child === undefined) throw new Error(`test redis cluster: no node ${node}`);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    };
    return { url: `redis://127.0.0.1:${ports[0]}`, nodes, kill, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A detached shell that outlives this process only to kill the nodes and remove their directory
 * when this process dies without stopping them (a test worker killed on a timeout runs no exit
 * handler). It polls this process's pid once a second.
 */
function startWatchdog(children: ChildProcess[], dir: string): ChildProcess {
  const pids = children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 ${pids.join(" ")} 2>/dev/null; rm -rf '${dir}'`;
  const watchdog = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  watchdog.on("error", () => {});
  watchdog.unref();
  return watchdog;
}

function startNode(dir: string, port: number): ChildProcess {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      join(dir, `nodes-${port}.conf`),
      "--cluster-node-timeout",
      "2000",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--logfile",
      join(dir, `redis-${port}.log`),
    ],
    { stdio: "ignore" },
  );
  child.on("error", () => {}); // reported by the readiness wait instead
  return child;
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    timeout: 5_000,
  });
  return stdout;
}

const ping = async (port: number) => (await redisCli(port, "ping").catch(() => "")).includes("PONG");
/** A master, or a replica whose link to its master is up (its first full sync done). */
const replicaLinked = async (port: number) => {
  const info = await redisCli(port, "info", "replication").catch(() => "");
  return info.includes("role:master") || info.includes("master_link_status:up");
};
const clusterOk = async (port: number) =>
  (await redisCli(port, "cluster", "info").catch(() => "")).includes("cluster_state:ok");

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`test redis cluster: no ${what} within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `count` free ports whose cluster bus ports (port + 10000) are free too. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort(0);
    if (port + 10_000 > 65_535 || ports.includes(port)) continue;
    if ((await freePort(port + 10_000).catch(() => -1)) === -1) continue;
    ports.push(port);
  }
  return ports;
}

function freePort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const got = address !== null && typeof address === "object" ? address.port : 0;
      server.close(() => resolve(got));
    });
  });
}

/** A key prefix of its own on a test cluster (as createTestKeyPrefix on the single server), and its cleanup. */
export function createClusterKeyPrefix(cluster: TestRedisCluster): {
  prefix: string;
  url: string;
  cleanup(): Promise<void>;
} {
  const prefix = `ws_test_${randomBytes(6).toString("hex")}:`;
  return {
    prefix,
    url: cluster.url,
    async cleanup() {
      const client = await connectRedisCluster({ url: cluster.url, logger: pino({ level: "silent" }) });
      try {
        await deleteClusterKeysWithPrefix(client, prefix);
      } finally {
        await client.quit();
      }
    },
  };
}
