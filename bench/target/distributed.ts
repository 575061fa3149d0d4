import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { connectAmqp } from "../../lib/adapters/rabbitmq/connection.js";
import { deleteQueues } from "../../lib/adapters/rabbitmq/topology.js";
import { connectRedis } from "../../lib/adapters/redis/connection.js";
import { deleteKeysWithPrefix } from "../../lib/adapters/redis/keys.js";
import { createTestDatabase } from "../../lib/testing/postgres.js";
import { testAmqpUrl } from "../../lib/testing/rabbitmq.js";
import { testRedisUrl } from "../../lib/testing/redis.js";
import { startRedisCluster, type TestRedisCluster } from "../../lib/testing/redis-cluster.js";
import { type ChildHandle, freePort, whaleshark } from "./child-process.js";
import {
  adminFactory,
  type BenchTarget,
  benchApp,
  commonEnv,
  type GatewayEndpoint,
  gatewayEndpoint,
  nodeFlags,
  type TargetOptions,
} from "./target.js";

const silent = pino({ level: "silent" });

/**
 * The distributed profile on the local servers: a fresh PostgreSQL database (`whaleshark migrate`
 * first), a unique Redis key prefix and AMQP queue prefix, then `whaleshark store`, `domain` and
 * `gateway` (× options.gateways) as separate processes, with static discovery of the domain and
 * store ports. `stop()` stops them (edge first) and removes the database, keys and queues.
 * With `redisCluster` the kv is a six-node Redis Cluster started for the run on this machine
 * (three masters, three replicas: lib/testing/redis-cluster.ts), stopped with the rest.
 */
export async function startDistributed(options: TargetOptions): Promise<BenchTarget> {
  const app = benchApp();
  const run = randomBytes(4).toString("hex");
  const database = await createTestDatabase();
  const redisPrefix = `ws_bench_${run}:`;
  const amqpPrefix = `ws_bench_${run}`;
  const [domainPort, storePort] = [await freePort(), await freePort()];
  let redisCluster: TestRedisCluster | undefined;
  if (options.redisCluster === true) {
    try {
      redisCluster = await startRedisCluster();
    } catch (error) {
      await database.drop().catch(() => undefined);
      throw error;
    }
  }
  const env = {
    ...commonEnv(app, options),
    WHALESHARK_PROFILE: "distributed",
    WHALESHARK_DATABASE_URL: database.url,
    WHALESHARK_REDIS_URL: redisCluster?.url ?? testRedisUrl,
    ...(redisCluster === undefined ? {} : { WHALESHARK_REDIS__CLUSTER: "true" }),
    WHALESHARK_AMQP_URL: testAmqpUrl,
    WHALESHARK_REDIS__KEY_PREFIX: redisPrefix,
    WHALESHARK_AMQP__PREFIX: amqpPrefix,
    WHALESHARK_DOMAIN__INTERNAL_SECRET: randomBytes(24).toString("hex"),
    WHALESHARK_DOMAIN__PORT: String(domainPort),
    WHALESHARK_STORE__PORT: String(storePort),
    WHALESHARK_DISCOVERY__KIND: "static",
    WHALESHARK_DISCOVERY__DOMAIN: `127.0.0.1:${domainPort}`,
    WHALESHARK_DISCOVERY__STORE: `127.0.0.1:${storePort}`,
  };
  const children: ChildHandle[] = [];
  const cleanup = async () => {
    for (const c of [...children].reverse()) await c.stop();
    await database.drop().catch(() => undefined);
    if (redisCluster === undefined) await deleteRedisPrefix(redisPrefix).catch(() => undefined);
    else await redisCluster.stop(); // its keys go with it
    await deleteAmqpPrefix(amqpPrefix).catch(() => undefined);
  };
  try {
    const migrate = await whaleshark(["migrate"], {
      name: "migrate",
      env,
      logFile: join(options.logDir, "migrate.log"),
    });
    const code = await migrate.child.exited;
    if (code !== 0) throw new Error(`whaleshark migrate exited with ${code} (log ${migrate.child.logFile})`);
    for (const [role, port] of [
      ["store", storePort],
      ["domain", domainPort],
    ] as const) {
      const { child } = await whaleshark(
        [role],
        {
          name: role,
          env: { ...env, WHALESHARK_NODE_ID: `bench-${role}-${run}` },
          logFile: join(options.logDir, `${role}.log`),
          readyPort: port,
        },
        nodeFlags(options),
      );
      children.push(child);
    }
    const gateways: GatewayEndpoint[] = [];
    for (let i = 1; i <= options.gateways; i++) {
      const name = `gateway-${i}`;
      const [tcpPort, wsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
      const { child } = await whaleshark(
        ["gateway"],
        {
          name,
          env: {
            ...env,
            WHALESHARK_NODE_ID: `bench-gw${i}-${run}`,
            WHALESHARK_GATEWAY__TCP_PORT: String(tcpPort),
            WHALESHARK_GATEWAY__WS_PORT: String(wsPort),
            WHALESHARK_METRICS__GATEWAY_PORT: String(metricsPort),
          },
          logFile: join(options.logDir, `${name}.log`),
          readyPort: wsPort,
        },
        nodeFlags(options),
      );
      children.push(child);
      gateways.push(gatewayEndpoint(name, child.pid, { tcpPort, wsPort, metricsPort }));
    }
    const domainAddress = `127.0.0.1:${domainPort}`;
    return {
      profile: "distributed",
      app,
      domainAddress,
      gateways,
      processes: children.map((c) => ({ name: c.name, pid: c.pid })),
      logDir: options.logDir,
      admin: adminFactory(app, domainAddress),
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = await connectRedis({ url: testRedisUrl, logger: silent });
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await redis.quit();
  }
}

/**
 * Deletes this run's queues. The broker is asked for its queue names (rabbitmqctl), and only
 * names under the run's own prefix are deleted; without rabbitmqctl the queues stay (the gateways'
 * delivery queues expire by themselves).
 */
async function deleteAmqpPrefix(prefix: string): Promise<void> {
  const { stdout } = await promisify(execFile)("rabbitmqctl", [
    "list_queues",
    "-q",
    "--no-table-headers",
    "name",
  ]);
  const own = stdout
    .split("\n")
    .map((s) => s.trim())
    .filter((name) => name.startsWith(`${prefix}.`));
  if (own.length === 0) return;
  const conn = await connectAmqp(testAmqpUrl, silent);
  try {
    await deleteQueues(conn, own);
  } finally {
    await conn.model.close();
  }
}
