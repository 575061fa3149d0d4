import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, redactConfig } from "./index.js";

describe("redactConfig", () => {
  it("hides private keys and URL passwords and leaves the original untouched", () => {
    const config = loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-config-")),
      env: {
        WHALESHARK_PROFILE: "distributed",
        WHALESHARK_APPS: '{"1":{"privateKey":"app-one-secret"},"2":{"privateKey":"app-two-secret"}}',
        WHALESHARK_DATABASE_URL: "postgresql://ws:db-pass-1@db:5432/ws",
        WHALESHARK_REDIS_URL: "rediss://:redis-pass-2@redis:6380/0",
        WHALESHARK_AMQP_URL: "amqp://ws:amqp-pass-3@mq/vhost",
        WHALESHARK_DOMAIN__INTERNAL_SECRET: "internal-secret-4",
        WHALESHARK_CALLBACKS__URL: "https://hook:callback-pass-5@app.example/callback",
      },
    });
    const redacted = redactConfig(config);
    const text = JSON.stringify(redacted);
    const secrets = ["app-one-secret", "app-two-secret", "db-pass-1", "redis-pass-2", "amqp-pass-3"];
    for (const secret of [...secrets, "internal-secret-4", "callback-pass-5"]) {
      expect(text).not.toContain(secret);
    }
    expect(redacted.apps["1"]?.privateKey).toBe("[redacted]");
    expect(redacted.database.url).toBe("postgresql://ws:[redacted]@db:5432/ws");
    expect(redacted.redis.url).toBe("rediss://:[redacted]@redis:6380/0");
    expect(redacted.amqp.url).toBe("amqp://ws:[redacted]@mq/vhost");
    expect(redacted.gateway).toEqual(config.gateway);
    expect(config.apps["1"]?.privateKey).toBe("app-one-secret");
  });

  it("keeps URLs without a password as they are", () => {
    const config = loadConfig({
      cwd: mkdtempSync(join(tmpdir(), "ws-config-")),
      env: { WHALESHARK_REDIS_URL: "redis://redis:6379" },
    });
    expect(redactConfig(config).redis.url).toBe("redis://redis:6379");
  });
});
