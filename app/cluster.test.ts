import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../lib/config/index.js";
import { clusterEnv, LOCAL_SERVERS } from "./cluster.js";
import { memberEnv } from "./local-cluster.js";

const cwd = mkdtempSync(join(tmpdir(), "ws-cluster-"));
const APPS = JSON.stringify({ "10001": { privateKey: "cluster-unit-key" } });

describe("clusterEnv", () => {
  it("fills in the local servers, ZooKeeper and a run secret only where the configuration is silent", () => {
    const env = { WHALESHARK_APPS: APPS };
    const out = clusterEnv(loadConfig({ cwd, env }), env);
    expect(out).toMatchObject({ WHALESHARK_PROFILE: "distributed", ...LOCAL_SERVERS });
    expect(out.WHALESHARK_DISCOVERY__KIND).toBe("zookeeper");
    expect(out.WHALESHARK_DOMAIN__INTERNAL_SECRET?.length).toBeGreaterThanOrEqual(16);
    // The result is a valid distributed configuration.
    expect(loadConfig({ cwd, env: out }).profile).toBe("distributed");
  });

  it("keeps what the configuration says", () => {
    const env = {
      WHALESHARK_APPS: APPS,
      WHALESHARK_REDIS_URL: "redis://cache:6379",
      WHALESHARK_DISCOVERY__KIND: "consul",
      WHALESHARK_DOMAIN__INTERNAL_SECRET: "a-configured-secret-0123",
    };
    const out = clusterEnv(loadConfig({ cwd, env }), env);
    expect(out.WHALESHARK_REDIS_URL).toBe("redis://cache:6379");
    expect(out.WHALESHARK_DISCOVERY__KIND).toBe("consul");
    expect(out.WHALESHARK_DOMAIN__INTERNAL_SECRET).toBe("a-configured-secret-0123");
    expect(out.WHALESHARK_DATABASE_URL).toBe(LOCAL_SERVERS.WHALESHARK_DATABASE_URL);
  });
});

describe("memberEnv", () => {
  const base = loadConfig({
    cwd,
    env: { WHALESHARK_APPS: APPS, WHALESHARK_NODE_ID: "box", WHALESHARK_STORE__PORT: "0" },
  });

  it("names each member and shifts its ports by 10 per index, so two of a role never collide", () => {
    expect(memberEnv(base, "gateway", 1, 4)).toMatchObject({
      WHALESHARK_NODE_ID: "box-gateway-1",
      WHALESHARK_WORKER_ID: "4",
      WHALESHARK_GATEWAY__TCP_PORT: "19001",
      WHALESHARK_GATEWAY__WS_PORT: "19002",
      WHALESHARK_METRICS__GATEWAY_PORT: "9464",
    });
    expect(memberEnv(base, "gateway", 2, 5)).toMatchObject({
      WHALESHARK_NODE_ID: "box-gateway-2",
      WHALESHARK_GATEWAY__TCP_PORT: "19011",
      WHALESHARK_GATEWAY__WS_PORT: "19012",
      WHALESHARK_GATEWAY__GRPC_PORT: "19010",
      WHALESHARK_DOMAIN__PORT: "18010",
      WHALESHARK_METRICS__GATEWAY_PORT: "9474",
    });
  });

  it("leaves port 0 (ephemeral) alone", () => {
    expect(memberEnv(base, "store", 2, 1).WHALESHARK_STORE__PORT).toBe("0");
  });
});
