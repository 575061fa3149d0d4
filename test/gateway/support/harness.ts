import type { Logger } from "pino";
import { expect } from "vitest";
import { type GatewayHandle, type GatewayOptions, startGateway } from "../../../gateway/start.js";
import type { Config, DeepPartial } from "../../../lib/config/index.js";
import type { Bus } from "../../../lib/ports/bus.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { testDiscoveryDeps } from "../../../lib/testing/role-deps.js";
import { freshResources, testConfig, testLogger, userSign } from "../../support/harness/index.js";
import type { RawClient, RawServerFrame } from "./raw-client.js";

/**
 * Gateway instances for gateway tests, on the one harness's pieces (test/support/harness): the
 * test app, fresh resources on memory or real adapters, the test config.
 */

export { APP_ID, userSign } from "../../support/harness/index.js";

/** The kv and bus one gateway instance gets. */
export interface InstanceInfra {
  kv: KvStore;
  bus: Bus;
}

/** Where the gateways of one test keep their sessions and exchange deliveries. */
export interface Infra {
  name: string;
  /** The kv and bus for one more gateway instance (shared state with the others). */
  instance(): Promise<InstanceInfra>;
  /** A kv view of the same data, for assertions. */
  kv(): Promise<KvStore>;
  close(): Promise<void>;
}

/** One MemoryKvStore and one MemoryBus shared by every instance: the embedded profile's adapters. */
export function memoryInfra(): Infra {
  return infraOn("memory", { kv: "memory", bus: "memory" });
}

/** Redis and RabbitMQ with a fresh key and queue prefix; each instance has its own connections. */
export function realInfra(): Infra {
  return infraOn("redis+rabbitmq", { kv: "redis", bus: "rabbitmq" });
}

function infraOn(name: string, on: { kv: "memory" | "redis"; bus: "memory" | "rabbitmq" }): Infra {
  const resources = freshResources({ ...on, db: "none" });
  return {
    name,
    instance: async () => {
      const r = await resources;
      return { kv: await r.kv(), bus: await r.bus() };
    },
    kv: async () => (await resources).kv(),
    close: async () => (await resources).close(),
  };
}

/** Options of {@link startTestGateway}. */
export interface TestGatewayOptions extends GatewayOptions {
  nodeId: string;
  infra: InstanceInfra;
  overrides?: DeepPartial<Config>;
  /** The gateway's logger (default: silent unless WHALESHARK_TEST_LOG is set); tests that read log lines pass one. */
  logger?: Logger;
}

/** A gateway on ephemeral ports (127.0.0.1), metrics on, logs silent unless WHALESHARK_TEST_LOG is set or a logger is given. */
export async function startTestGateway(opts: TestGatewayOptions): Promise<GatewayHandle> {
  const o = opts.overrides ?? {};
  const config = testConfig(opts.nodeId, {
    ...o,
    discovery: { domain: "127.0.0.1:1", ...o.discovery },
    shutdown: { graceMs: 2000, ...o.shutdown },
  });
  const db = () => Promise.reject(new Error("the gateway never needs the database"));
  return startGateway(
    {
      logger: opts.logger ?? testLogger(),
      kv: opts.infra.kv,
      bus: opts.infra.bus,
      db,
      ...testDiscoveryDeps({ domain: config.discovery.domain }),
    },
    config,
    { chat: opts.chat, history: opts.history },
  );
}

/** What a LOGIN sends besides the user. */
export interface LoginFields {
  clientType?: number;
  imei?: string;
  messageType?: number;
  appId?: number;
}

/** Logs `userId` in with a valid userSign and expects LOGIN_ACK 9001; returns the ACK frame. */
export async function login(
  client: RawClient,
  userId: string,
  fields: LoginFields = {},
): Promise<RawServerFrame> {
  client.send({ command: 9000, ...fields, body: { userId, userSign: userSign(userId) } });
  const ack = await client.next();
  expect(ack.command, ack.text).toBe(9001);
  return ack;
}

/** The value of one series of a registry, e.g. `metric(r, "whaleshark_gateway_errors_total", {kind: "x"})`. */
export async function metric(
  handle: GatewayHandle,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = handle.metrics.getSingleMetric(name);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  let sum = 0;
  for (const v of values) {
    if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  }
  return sum;
}
