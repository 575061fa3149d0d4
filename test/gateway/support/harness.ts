import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { expect } from "vitest";
import { type GatewayHandle, type GatewayOptions, startGateway } from "../../../gateway/start.js";
import { MemoryBus } from "../../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { RabbitMqBus } from "../../../lib/adapters/rabbitmq/bus.js";
import { RedisKvStore } from "../../../lib/adapters/redis/kv-store.js";
import { generateUserSign } from "../../../lib/auth/index.js";
import { type Config, type DeepPartial, loadConfig } from "../../../lib/config/index.js";
import type { Bus } from "../../../lib/ports/bus.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { createTestQueuePrefix } from "../../../lib/testing/rabbitmq.js";
import { createTestKeyPrefix } from "../../../lib/testing/redis.js";
import { testDiscoveryDeps } from "../../../lib/testing/role-deps.js";
import type { RawClient, RawServerFrame } from "./raw-client.js";

/** The demo app of the embedded profile (spec §6.2): appId 10001, key "bantanger". */
export const APP_ID = 10001;
const PRIVATE_KEY = "bantanger";

/** A valid userSign for `userId` in the demo app. */
export function userSign(userId: string, expireSeconds = 3600, now?: number): string {
  return generateUserSign({ appId: APP_ID, identifier: userId, privateKey: PRIVATE_KEY, expireSeconds, now });
}

/** The kv and bus one gateway instance gets, and how to release them. */
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
  const kv = new MemoryKvStore();
  const bus = new MemoryBus();
  return {
    name: "memory",
    instance: async () => ({ kv, bus }),
    kv: async () => kv,
    close: async () => {
      await bus.close();
      await kv.close();
    },
  };
}

/** Redis and RabbitMQ with a fresh key and queue prefix; each instance has its own connections. */
export function realInfra(): Infra {
  const keys = createTestKeyPrefix();
  const queues = createTestQueuePrefix();
  const logger = pino({ level: "silent" });
  const kvs: KvStore[] = [];
  const buses: RabbitMqBus[] = [];
  const newKv = async () => {
    const kv = await RedisKvStore.connect({ url: keys.url, keyPrefix: keys.prefix });
    kvs.push(kv);
    return kv;
  };
  return {
    name: "redis+rabbitmq",
    instance: async () => {
      const bus = await RabbitMqBus.connect({ url: queues.url, prefix: queues.prefix, logger });
      buses.push(bus);
      return { kv: await newKv(), bus };
    },
    kv: newKv,
    close: async () => {
      const created = buses.flatMap((b) => b.createdQueues());
      for (const b of buses) await b.close();
      for (const kv of kvs) await kv.close();
      await queues.cleanup(created);
      await keys.cleanup();
    },
  };
}

/** Options of {@link startTestGateway}. */
export interface TestGatewayOptions extends GatewayOptions {
  nodeId: string;
  infra: InstanceInfra;
  overrides?: DeepPartial<Config>;
  /** The gateway's logger (default: silent unless WS_TEST_LOG is set); tests that read log lines pass one. */
  logger?: Logger;
}

/** A gateway on ephemeral ports (127.0.0.1), metrics on, logs silent unless WS_TEST_LOG is set or a logger is given. */
export async function startTestGateway(opts: TestGatewayOptions): Promise<GatewayHandle> {
  const o = opts.overrides ?? {};
  const config = loadConfig({
    cwd: mkdtempSync(join(tmpdir(), "ws-gw-")),
    env: {},
    overrides: {
      ...o,
      nodeId: opts.nodeId,
      gateway: { host: "127.0.0.1", tcpPort: 0, wsPort: 0, grpcPort: 0, ...o.gateway },
      metrics: { host: "127.0.0.1", gatewayPort: 0, ...o.metrics },
      discovery: { domain: "127.0.0.1:1", ...o.discovery },
      shutdown: { graceMs: 2000, ...o.shutdown },
    },
  });
  const logger = opts.logger ?? pino({ level: process.env.WS_TEST_LOG ?? "silent" });
  const db = () => Promise.reject(new Error("the gateway never needs the database"));
  return startGateway(
    {
      logger,
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

/** Polls `check` until it returns true (or throws its last assertion after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
