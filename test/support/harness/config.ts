import { type Config, type DeepPartial, loadConfig } from "../../../lib/config/index.js";
import { emptyConfigFolder } from "../../../lib/testing/config-load.js";
import { INTERNAL_SECRET, testApps } from "./app.js";
import { postgresUrl, type Resources } from "./resources.js";

/**
 * The configuration of one role of a test deployment, loaded as a process loads it (schema defaults,
 * profile defaults, validation) from an empty folder and no environment: the test app, every
 * listener on 127.0.0.1 port 0, the shared internal secret, short store batches and graceful stops,
 * the distributed profile with the resources' Redis, RabbitMQ and PostgreSQL when it has them, then
 * `overrides`; a section in `overrides` is merged key by key over these.
 */
export function testConfig(
  nodeId: string,
  overrides: DeepPartial<Config> = {},
  resources?: Resources,
): Config {
  const o = overrides;
  // The distributed profile when every port is on its real server, as in a real deployment.
  const a = resources?.adapters;
  const real = a?.kv === "redis" && a.bus === "rabbitmq" && a.db === "postgres";
  const dbUrl = postgresUrl(resources?.db) ?? resources?.postgres?.url;
  return loadConfig({
    cwd: emptyConfigFolder("ws-test-"),
    env: {},
    needs: [],
    overrides: {
      ...o,
      ...(real ? { profile: "distributed" } : {}),
      nodeId,
      apps: o.apps ?? testApps(),
      ...(dbUrl === undefined ? {} : { database: { ...o.database, url: dbUrl } }),
      ...(resources?.keys === undefined
        ? {}
        : { redis: { ...o.redis, url: resources.redisUrl, keyPrefix: resources.keys.prefix } }),
      ...(resources?.queues === undefined
        ? {}
        : { amqp: { ...o.amqp, url: resources.queues.url, prefix: resources.queues.prefix } }),
      domain: { host: "127.0.0.1", port: 0, internalSecret: INTERNAL_SECRET, ...o.domain },
      store: { host: "127.0.0.1", port: 0, batchWaitMs: 5, ...o.store },
      gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0, ...o.gateway },
      metrics: { host: "127.0.0.1", gatewayPort: 0, domainPort: 0, storePort: 0, ...o.metrics },
      shutdown: { graceMs: 1000, ...o.shutdown },
    },
  });
}
