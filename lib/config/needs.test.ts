import { describe, expect, it } from "vitest";
import { configProblems, emptyConfigFolder } from "../testing/config-load.js";
import { loadConfig } from "./index.js";

const cwd = () => emptyConfigFolder("ws-needs-");
const DB = "postgresql://postgres@127.0.0.1:5432/whaleshark";

const problems = configProblems;

describe("loadConfig needs (a command asks only for what it uses, issue 18)", () => {
  it("by default the distributed profile requires apps and the database, Redis and AMQP URLs", () => {
    const found = problems(() => loadConfig({ cwd: cwd(), env: { WHALESHARK_PROFILE: "distributed" } }));
    expect(found).toEqual([
      expect.stringMatching(/^config: apps \(WHALESHARK_APPS\): expected at least one app/),
      expect.stringMatching(/^config: database\.url \(WHALESHARK_DATABASE_URL\): expected a postgres/),
      expect.stringMatching(/^config: redis\.url \(WHALESHARK_REDIS_URL\): expected a redis/),
      expect.stringMatching(/^config: amqp\.url \(WHALESHARK_AMQP_URL\): expected an amqp/),
    ]);
  });

  it("needs ['database'] (whaleshark migrate) accepts the database URL alone", () => {
    const env = { WHALESHARK_PROFILE: "distributed", WHALESHARK_DATABASE_URL: DB };
    const config = loadConfig({ cwd: cwd(), env, needs: ["database"] });
    expect(config.database.url).toBe(DB);
    expect(config.apps).toEqual({});
    expect(config.redis.url).toBeUndefined();
    expect(
      problems(() =>
        loadConfig({ cwd: cwd(), env: { WHALESHARK_PROFILE: "distributed" }, needs: ["database"] }),
      ),
    ).toEqual([expect.stringMatching(/^config: database\.url \(WHALESHARK_DATABASE_URL\)/)]);
  });

  it("needs ['apps'] (whaleshark token) wants an app but no server", () => {
    const env = {
      WHALESHARK_PROFILE: "distributed",
      WHALESHARK_APPS: '{"10001":{"privateKey":"a-long-key"}}',
    };
    expect(Object.keys(loadConfig({ cwd: cwd(), env, needs: ["apps"] }).apps)).toEqual(["10001"]);
    expect(
      problems(() => loadConfig({ cwd: cwd(), env: { WHALESHARK_APPS: "{}" }, needs: ["apps"] })),
    ).toEqual([expect.stringMatching(/^config: apps \(WHALESHARK_APPS\): expected at least one app/)]);
  });

  it("still reports a malformed value whatever the needs", () => {
    const env = {
      WHALESHARK_PROFILE: "distributed",
      WHALESHARK_DATABASE_URL: DB,
      WHALESHARK_REDIS_URL: "http://x",
    };
    expect(problems(() => loadConfig({ cwd: cwd(), env, needs: ["database"] }))).toEqual([
      expect.stringMatching(/^config: redis\.url \(WHALESHARK_REDIS_URL\)/),
    ]);
  });
});
