import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./index.js";

/** A fresh empty directory, so no whaleshark.yaml from the checkout leaks into a test. */
const emptyDir = () => mkdtempSync(join(tmpdir(), "ws-config-"));

function writeFile(name: string, text: string): string {
  const dir = emptyDir();
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const DISTRIBUTED_ENV = {
  WHALESHARK_PROFILE: "distributed",
  WHALESHARK_APPS: '{"20001":{"privateKey":"a-long-secret"}}',
  WHALESHARK_DATABASE_URL: "postgres://u:pw@db:5432/ws",
  WHALESHARK_REDIS_URL: "redis://redis:6379",
  WHALESHARK_AMQP_URL: "amqp://guest:guest@mq:5672",
};

describe("loadConfig", () => {
  it("gives the documented defaults for the embedded profile", () => {
    const config = loadConfig({ cwd: emptyDir(), env: {} });
    expect(config.profile).toBe("embedded");
    expect(config.dataDir).toBe("./data");
    expect(config.nodeId).toMatch(new RegExp(`-${process.pid}$`));
    expect(config.workerId).toBeUndefined();
    expect(config.log).toEqual({ level: "info" });
    expect(config.apps).toEqual({ "10001": { privateKey: "bantanger", adminIds: ["admin"] } });
    expect(config.auth).toEqual({ login: "sign", userSignTtlSeconds: 604_800, maxClockSkewMs: 60_000 });
    expect(config.redis.keyPrefix).toBe("ws:");
    expect(config.amqp.prefix).toBe("whaleshark");
    expect(config.gateway).toEqual({
      host: "0.0.0.0",
      tcpPort: 19001,
      wsPort: 19002,
      wsPath: "/ws",
      grpcPort: 19000,
      maxFrameBytes: 65_536,
      heartbeatTimeoutMs: 90_000,
      loginMode: 3,
      sendQueueMaxBytes: 1_048_576,
      maxConnectionsPerIp: 1000,
      maxConnections: 50_000,
      loginTimeoutMs: 10_000,
      handshakeTimeoutMs: 5000,
      grpcHost: "127.0.0.1",
      sessionTtlMs: 300_000,
      kickMode: "close",
      forwardTimeoutMs: 3000,
      maxInFlightSends: 256,
      sendRatePerConnection: 100,
      sendBurstPerConnection: 100,
      sendRatePerUser: 200,
      sendBurstPerUser: 300,
      shedSendsAfterMs: 1000,
      shedSendsAtDepth: 20_000,
    });
    expect(config.metrics).toEqual({
      enabled: true,
      host: "127.0.0.1",
      gatewayPort: 9464,
      domainPort: 9465,
      storePort: 9466,
      maxConnections: 64,
      maxConnectionsPerIp: 16,
    });
    expect(config.grpc).toEqual({
      maxConnections: 1024,
      maxConnectionsPerIp: 128,
      handshakeTimeoutMs: 10_000,
      keepaliveTimeMs: 60_000,
    });
    expect(config.domain).toEqual({ host: "127.0.0.1", port: 18000, deleteConversationSyncMode: 1 });
    expect(config.store).toEqual({
      host: "127.0.0.1",
      port: 18001,
      batchSize: 500,
      batchWaitMs: 20,
      maxAttempts: 5,
      groupConversationFlushMs: 1_000,
      retentionDays: 0,
      retentionIntervalMs: 600_000,
    });
    expect(config.discovery).toEqual({
      kind: "static",
      domain: "127.0.0.1:18000",
      store: "127.0.0.1:18001",
      servicePrefix: "whaleshark",
      zookeeperConnect: "127.0.0.1:2181",
      zookeeperRoot: "/whaleshark",
      zookeeperSessionTimeoutMs: 10_000,
      consulUrl: "http://127.0.0.1:8500",
      consulCheckTtlMs: 10_000,
      consulDeregisterAfterMs: 60_000,
      routeModel: 3,
    });
    expect(config.shutdown.graceMs).toBe(10_000);
  });

  it("applies named and generic environment variables, coercing numbers and booleans", () => {
    const config = loadConfig({
      cwd: emptyDir(),
      env: {
        WHALESHARK_GATEWAY__TCP_PORT: "0",
        WHALESHARK_GATEWAY__HEARTBEAT_TIMEOUT_MS: "45000",
        WHALESHARK_LOG__LEVEL: "debug",
        WHALESHARK_LOG__PRETTY: "true",
        WHALESHARK_WORKER_ID: "7",
        WHALESHARK_NODE_ID: "gw-1",
        WHALESHARK_DATA_DIR: "/var/lib/ws",
        WHALESHARK_REDIS_URL: "",
        PATH: "/usr/bin",
      },
    });
    expect(config.gateway.tcpPort).toBe(0);
    expect(config.gateway.heartbeatTimeoutMs).toBe(45_000);
    expect(config.log).toEqual({ level: "debug", pretty: true });
    expect(config.workerId).toBe(7);
    expect(config.nodeId).toBe("gw-1");
    expect(config.dataDir).toBe("/var/lib/ws");
    expect(config.redis.url).toBeUndefined();
  });

  it("reads a YAML file, then lets the environment and overrides win over it", () => {
    const file = writeFile(
      "ws.yaml",
      "gateway:\n  tcpPort: 29001\n  wsPort: 29002\nlog:\n  level: warn\napps:\n  '42':\n    privateKey: file-secret-key\n",
    );
    const config = loadConfig({
      file,
      env: { WHALESHARK_GATEWAY__WS_PORT: "39002" },
      overrides: { log: { level: "error" } },
    });
    expect(config.gateway.tcpPort).toBe(29001);
    expect(config.gateway.wsPort).toBe(39002);
    expect(config.log.level).toBe("error");
    // apps replace the embedded demo app instead of merging with it
    expect(config.apps).toEqual({ "42": { privateKey: "file-secret-key" } });
  });

  it("finds the file through WHALESHARK_CONFIG and whaleshark.yaml in the working directory", () => {
    const viaEnv = writeFile("c.json", '{"shutdown":{"graceMs":1}}');
    expect(loadConfig({ env: { WHALESHARK_CONFIG: viaEnv } }).shutdown.graceMs).toBe(1);
    const local = writeFile("whaleshark.yaml", "shutdown:\n  graceMs: 2\n");
    expect(loadConfig({ env: {}, cwd: join(local, "..") }).shutdown.graceMs).toBe(2);
  });

  it("reads WHALESHARK_APPS as JSON", () => {
    const config = loadConfig({
      cwd: emptyDir(),
      env: { WHALESHARK_APPS: '{"7":{"privateKey":"seven-secret","adminIds":["root"]}}' },
    });
    expect(config.apps).toEqual({ "7": { privateKey: "seven-secret", adminIds: ["root"] } });
  });

  it("accepts a complete distributed configuration", () => {
    const config = loadConfig({ cwd: emptyDir(), env: DISTRIBUTED_ENV });
    expect(config.profile).toBe("distributed");
    expect(config.database.url).toBe("postgres://u:pw@db:5432/ws");
    expect(Object.keys(config.apps)).toEqual(["20001"]);
  });

  it("returns a deeply frozen object", () => {
    const config = loadConfig({ cwd: emptyDir(), env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.gateway)).toBe(true);
    expect(Object.isFrozen(config.apps["10001"])).toBe(true);
    expect(() => {
      (config.gateway as { tcpPort: number }).tcpPort = 1;
    }).toThrow(TypeError);
  });
});
