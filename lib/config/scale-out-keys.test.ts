import { describe, expect, it } from "vitest";
import { configProblems, emptyConfigFolder } from "../testing/config-load.js";
import { loadConfig } from "./index.js";

const cwd = () => emptyConfigFolder("ws-scale-");

const problems = configProblems;

// Issue 20: redis.cluster and amqp.queueType (docs/kv-keys.md, docs/queues.md).
describe("config keys for a Redis Cluster and quorum queues", () => {
  it("default to a single Redis and classic queues", () => {
    const config = loadConfig({ cwd: cwd(), env: {} });
    expect(config.redis.cluster).toBe(false);
    expect(config.amqp.queueType).toBe("classic");
  });

  it("are read from the environment", () => {
    const env = { WHALESHARK_REDIS__CLUSTER: "true", WHALESHARK_AMQP__QUEUE_TYPE: "quorum" };
    const config = loadConfig({ cwd: cwd(), env });
    expect(config.redis.cluster).toBe(true);
    expect(config.amqp.queueType).toBe("quorum");
  });

  it("refuse anything else, naming the key and the variable", () => {
    const env = { WHALESHARK_REDIS__CLUSTER: "maybe", WHALESHARK_AMQP__QUEUE_TYPE: "stream" };
    expect(problems(() => loadConfig({ cwd: cwd(), env }))).toEqual([
      expect.stringMatching(/^config: redis\.cluster \(WHALESHARK_REDIS__CLUSTER\): expected true or false/),
      expect.stringMatching(
        /^config: amqp\.queueType \(WHALESHARK_AMQP__QUEUE_TYPE\): expected classic or quorum/,
      ),
    ]);
  });
});
