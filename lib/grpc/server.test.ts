import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ChatServiceService } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { loadConfig } from "../config/index.js";
import {
  DEFAULT_GRPC_POLICY,
  type GrpcServerPolicy,
  grpcPolicyOf,
  type RunningGrpcServer,
  startGrpcServer,
} from "./server.js";

/**
 * The gRPC server bootstrap's exposure (SECURITY.md): what reflection lists per mode, and the
 * connection caps and handshake deadline it holds in front of grpc-js.
 */
const logger = pino({ level: "silent" });
let server: RunningGrpcServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.stop(0);
  server = undefined;
});

const services = [
  { name: "whaleshark.v1.UserService", definition: UserServiceService, handlers: {} },
  { name: "whaleshark.v1.ChatService", definition: ChatServiceService, handlers: {} },
];

async function start(policy: Partial<GrpcServerPolicy> = {}): Promise<RunningGrpcServer> {
  server = await startGrpcServer({
    role: "test",
    host: "127.0.0.1",
    port: 0,
    services,
    logger,
    policy: { ...DEFAULT_GRPC_POLICY, ...policy },
  });
  return server;
}

async function listServices(address: string): Promise<string[]> {
  return new GrpcReflection(address, grpc.credentials.createInsecure()).listServices();
}

/** Answers health's Check for "" (SERVING = 1), proving a real HTTP/2 client gets through. */
async function healthStatus(address: string): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        () => Buffer.alloc(0), // HealthCheckRequest{service: ""}
        (b: Buffer) => b,
        {},
        { deadline: Date.now() + 5000 },
        (err, res) => (err ? reject(err) : resolve(res?.[1] ?? 0)),
      );
    });
  } finally {
    client.close();
  }
}

async function rawSocket(port: number, bytes?: Uint8Array): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  s.on("error", () => undefined);
  s.resume(); // read to the end, so the server's close shows as 'close' here
  sockets.push(s);
  await new Promise((r) => s.once("connect", r));
  if (bytes !== undefined) s.write(bytes);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));

describe("reflection", () => {
  it("public: the services this server mounts, without the internal ChatService", async () => {
    const s = await start({ reflection: "public" });
    expect(await listServices(s.address)).toEqual(["whaleshark.v1.UserService"]);
  });

  it("all: the whole contract (development)", async () => {
    const s = await start({ reflection: "all" });
    expect(await listServices(s.address)).toEqual(
      expect.arrayContaining([
        "whaleshark.v1.UserService",
        "whaleshark.v1.ChatService",
        "whaleshark.v1.HistoryService",
      ]),
    );
  });

  it("off: no reflection service, health still answers", async () => {
    const s = await start({ reflection: "off" });
    await expect(listServices(s.address)).rejects.toThrow(/UNIMPLEMENTED/);
    expect(await healthStatus(s.address)).toBe(1);
  });

  it("defaults by profile: all embedded, public distributed, or what grpc.reflection says", () => {
    const embedded = loadConfig({ env: {}, cwd: "/" });
    expect(grpcPolicyOf(embedded).reflection).toBe("all");
    const distributed = loadConfig({
      env: {},
      cwd: "/",
      overrides: {
        profile: "distributed",
        database: { url: "postgres://x@127.0.0.1/x" },
        redis: { url: "redis://127.0.0.1" },
        amqp: { url: "amqp://127.0.0.1" },
        apps: { "1": { privateKey: "long-enough" } },
      },
    });
    expect(grpcPolicyOf(distributed).reflection).toBe("public");
    const off = loadConfig({ env: { WHALESHARK_GRPC__REFLECTION: "off" }, cwd: "/" });
    expect(grpcPolicyOf(off)).toEqual({
      reflection: "off",
      limits: { maxConnections: 1024, maxConnectionsPerIp: 128 },
      handshakeTimeoutMs: 10_000,
      keepaliveTimeMs: 60_000,
      http: {
        allowedOrigins: ["*"],
        maxBodyBytes: 1024 * 1024,
        timeoutMs: 10_000,
        idleTimeoutMs: 30_000,
        openLogin: false,
      },
    });
  });

  it("serves the HTTP API beside gRPC unless http.enabled is false; CORS open embedded, none distributed", () => {
    const distributed = loadConfig({
      env: {},
      cwd: "/",
      overrides: {
        profile: "distributed",
        database: { url: "postgres://x@127.0.0.1/x" },
        redis: { url: "redis://127.0.0.1" },
        amqp: { url: "amqp://127.0.0.1" },
        apps: { "1": { privateKey: "long-enough" } },
      },
    });
    expect(grpcPolicyOf(distributed).http?.allowedOrigins).toEqual([]);
    const listed = loadConfig({
      env: { WHALESHARK_HTTP__ALLOWED_ORIGINS: "https://a.example.com" },
      cwd: "/",
    });
    expect(grpcPolicyOf(listed).http?.allowedOrigins).toEqual(["https://a.example.com"]);
    const off = loadConfig({ env: { WHALESHARK_HTTP__ENABLED: "false" }, cwd: "/" });
    expect(grpcPolicyOf(off).http).toBeUndefined();
  });
});

describe("connection limits in front of grpc-js", () => {
  it("refuses a connection past the per-address cap at accept and frees the slot on close", async () => {
    const s = await start({ limits: { maxConnections: 100, maxConnectionsPerIp: 2 } });
    const first = await rawSocket(s.port);
    await rawSocket(s.port);
    const third = await rawSocket(s.port);
    await closed(third);
    first.destroy();
    await expect.poll(() => healthStatus(s.address).catch(() => 0)).toBe(1);
  });

  it("refuses past the total cap", async () => {
    const s = await start({ limits: { maxConnections: 1, maxConnectionsPerIp: 10 } });
    await rawSocket(s.port);
    const second = await rawSocket(s.port);
    await closed(second);
  });

  it("closes sockets that send nothing, or only part of the HTTP/2 preface, by the handshake deadline", async () => {
    const s = await start({ handshakeTimeoutMs: 300 });
    const silent = await rawSocket(s.port);
    const partial = await rawSocket(s.port, Buffer.from("PRI * HTTP/2.0\r\n"));
    const started = Date.now();
    await Promise.all([closed(silent), closed(partial)]);
    expect(Date.now() - started).toBeLessThan(3000);
    // A real client sends the preface at once and is served.
    expect(await healthStatus(s.address)).toBe(1);
  });

  it("frees the slot of a session Node's HTTP/2 leaves stuck after an HPACK error, by keepalive", async () => {
    const s = await start({ limits: { maxConnections: 100, maxConnectionsPerIp: 1 }, keepaliveTimeMs: 1000 });
    // Preface, empty SETTINGS, then HEADERS on stream 1 whose block does not decode; then the
    // client leaves. Node stops reading that session, so it never sees the close by itself.
    const stuck = await rawSocket(
      s.port,
      Buffer.concat([
        Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
        Buffer.from("000000040000000000", "hex"),
        Buffer.from("00000401050000000141424344", "hex"),
      ]),
    );
    await sleep(200);
    stuck.destroy();
    // The one slot of 127.0.0.1 is held until the keepalive PING goes unanswered (≤ 2 s here).
    const admitted = async () => {
      const probe = await rawSocket(s.port, Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
      await sleep(150);
      const open = !probe.destroyed;
      probe.destroy();
      return open;
    };
    expect(await admitted()).toBe(false);
    await expect.poll(admitted, { timeout: 8000, interval: 300 }).toBe(true);
  });
});
