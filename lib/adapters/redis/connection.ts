import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { redactUrl } from "../../log/redact-url.js";

/**
 * Reconnect delays: 50 ms doubling to 2 s. A Redis restart is back within a
 * second or two, and a longer outage should not hammer the server.
 */
const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 2_000;

/**
 * Commands fail (with an error naming the server) after this many reconnect
 * attempts while disconnected, about 50+100+200+400 ms plus the connect
 * attempts themselves: a caller is told within a few seconds that kv is down
 * instead of queueing forever (ioredis' default is 20 attempts, ~40 s).
 */
const MAX_RETRIES_PER_REQUEST = 4;

/** One TCP connect attempt to an unreachable (not refusing) host gives up after this. */
const CONNECT_TIMEOUT_MS = 2_000;

/** A command without a reply after this long fails, so a half-dead socket cannot hang callers. */
const COMMAND_TIMEOUT_MS = 5_000;

/** How to reach Redis. */
export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://...`. */
  url: string;
  /** Prepended by ioredis to every key, including script KEYS (not to SCAN patterns). */
  keyPrefix?: string;
  logger: Logger;
  /** Lua commands to define (ioredis `defineCommand`), by name. */
  scripts?: Record<string, { lua: string; numberOfKeys?: number }>;
}

/**
 * Opens a ready ioredis client, or rejects with an error naming the server
 * (password removed) and the reason, e.g. `redis at redis://127.0.0.1:6390
 * unreachable: connect ECONNREFUSED 127.0.0.1:6390`.
 *
 * Behaviour while connected and later disconnected:
 * - ioredis reconnects by itself with {@link RETRY_BASE_MS}..{@link RETRY_MAX_MS} backoff;
 *   connection errors and reconnects are logged (warn), the recovery (info).
 * - `enableOfflineQueue: true`: a command issued during a short blip waits
 *   for the reconnect instead of failing at once: a Redis restart should not
 *   fail user requests.
 * - `maxRetriesPerRequest` bounds that wait ({@link MAX_RETRIES_PER_REQUEST}),
 *   and `commandTimeout` bounds a command on a socket that stopped answering.
 */
export async function connectRedis(opts: RedisConnectionOptions): Promise<Redis> {
  const where = redactUrl(opts.url);
  const log = opts.logger.child({ redis: where });
  const options: RedisOptions = {
    lazyConnect: true,
    keyPrefix: opts.keyPrefix ?? "",
    enableOfflineQueue: true,
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(RETRY_BASE_MS * 2 ** (times - 1), RETRY_MAX_MS),
    connectionName: "whaleshark",
    // Commands issued in the same event-loop tick leave in one write (the push path reads many
    // session hashes at once, and concurrent sends each make several calls): fewer syscalls and
    // round trips under load, no change for a lone command.
    enableAutoPipelining: true,
  };
  const redis = new Redis(opts.url, options);
  for (const [name, script] of Object.entries(opts.scripts ?? {})) redis.defineCommand(name, script);

  let lastError: Error | undefined;
  let wasReady = false;
  // Without an `error` listener ioredis prints every failed reconnect to stderr.
  redis.on("error", (err: Error) => {
    lastError = err;
    if (wasReady) log.warn({ err: err.message }, "redis connection error");
  });
  redis.on("reconnecting", (delayMs: number) => {
    if (wasReady) log.warn({ delayMs }, "redis reconnecting");
  });
  redis.on("ready", () => {
    if (wasReady) log.info("redis connection restored");
    wasReady = true;
  });

  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect(); // stops the background reconnect loop
    const reason = lastError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`redis at ${where} unreachable: ${reason}`, { cause: lastError ?? err });
  }
  log.debug("redis connected");
  return redis;
}

/**
 * Opens a ready ioredis `Cluster` from one seed node (`redis.url` with `redis.cluster: true`); the
 * client learns the other nodes and the slot map from it (CLUSTER SLOTS) and follows MOVED/ASK
 * redirections and failovers by itself. The URL's password, user and `rediss:` (TLS) apply to every
 * node. Same timeouts, reconnect backoff, logging and error wording as {@link connectRedis}; the
 * URL's database number must be 0 or absent (a cluster has only database 0).
 */
export async function connectRedisCluster(opts: RedisConnectionOptions): Promise<Cluster> {
  const where = redactUrl(opts.url);
  const log = opts.logger.child({ redis: where, cluster: true });
  const seed = new URL(opts.url);
  const db = seed.pathname.replace(/^\//, "");
  if (db !== "" && db !== "0")
    throw new Error(`redis at ${where}: a Redis Cluster has only database 0, got ${db}`);
  const options: ClusterOptions = {
    lazyConnect: true,
    keyPrefix: opts.keyPrefix ?? "",
    enableOfflineQueue: true,
    // Off: ioredis' cluster auto-pipelining picks a command's node from its first argument before
    // the key prefix is applied (and for EVALSHA that argument is the script's hash), so it mixes
    // slots of different nodes in one pipeline and fails it. The kv adapter batches by slot itself.
    enableAutoPipelining: false,
    clusterRetryStrategy: (times) => Math.min(RETRY_BASE_MS * 2 ** (times - 1), RETRY_MAX_MS),
    // A failover takes the cluster node timeout (seconds): commands for the lost slots wait and retry
    // meanwhile, bounded like a single node's (about the same few seconds).
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    redisOptions: {
      username: seed.username === "" ? undefined : decodeURIComponent(seed.username),
      password: seed.password === "" ? undefined : decodeURIComponent(seed.password),
      tls: seed.protocol === "rediss:" ? {} : undefined,
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectionName: "whaleshark",
    },
  };
  const cluster = new Cluster(
    [{ host: seed.hostname, port: Number(seed.port === "" ? 6379 : seed.port) }],
    options,
  );
  for (const [name, script] of Object.entries(opts.scripts ?? {})) cluster.defineCommand(name, script);

  let lastError: Error | undefined;
  let wasReady = false;
  cluster.on("error", (err: Error) => {
    lastError = err;
    if (wasReady) log.warn({ err: err.message }, "redis cluster error");
  });
  cluster.on("node error", (err: Error, node: string) => {
    if (wasReady) log.warn({ err: err.message, node }, "redis cluster node error");
  });
  cluster.on("ready", () => {
    if (wasReady) log.info("redis cluster connection restored");
    wasReady = true;
  });
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    const reason = lastError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`redis cluster at ${where} unreachable: ${reason}`, { cause: lastError ?? err });
  }
  log.debug("redis cluster connected");
  return cluster;
}
