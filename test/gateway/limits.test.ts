import { connect, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { GrpcReflection } from "grpc-js-reflection-client";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { GatewayHandle } from "../../gateway/start.js";
import type { Config, DeepPartial } from "../../lib/config/index.js";
import { type Infra, login, memoryInfra, metric, startTestGateway } from "./support/harness.js";
import { buildFrame, RawClient } from "./support/raw-client.js";

/**
 * Issue 13 items 2 and 6: the limits that hold before any work (connection caps counted at the TCP
 * accept, sockets still in the WebSocket upgrade included; the login deadline; the upgrade's
 * header deadline), the Origin policy, the gateway's gRPC port on loopback with reflection as
 * configured, and the client's address on every connection log line. SECURITY.md lists them.
 */
let infra: Infra | undefined;
let gateway: GatewayHandle | undefined;
const clients: RawClient[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await gateway?.stop();
  gateway = undefined;
  await infra?.close();
  infra = undefined;
});

interface LogLine {
  level: number;
  msg: string;
  remote?: string;
  [key: string]: unknown;
}

async function start(overrides: DeepPartial<Config> = {}, lines?: LogLine[]): Promise<GatewayHandle> {
  infra = memoryInfra();
  const logger =
    lines === undefined
      ? undefined
      : pino(
          { level: "debug" },
          new Writable({
            write(chunk, _encoding, done) {
              for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
              done();
            },
          }),
        );
  gateway = await startTestGateway({ nodeId: "gw-limits", infra: await infra.instance(), overrides, logger });
  return gateway;
}

/** A raw socket to `port` that collects what it receives; it sends only what the test writes. */
async function rawSocket(
  port: number,
  host = "127.0.0.1",
): Promise<Socket & { received: () => string; local: string }> {
  const s = connect(port, host);
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  s.on("error", () => undefined);
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  // Read at connect: a socket the server refuses forgets its address once closed.
  const local = `${s.localAddress}:${s.localPort}`;
  return Object.assign(s, { received: () => Buffer.concat(chunks).toString("latin1"), local });
}

function whenClosed(s: Socket, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve(0);
    const timer = setTimeout(() => reject(new Error("socket still open")), timeoutMs);
    s.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** Opens a WebSocket (optionally with an Origin); resolves "open" or the refusal's HTTP status. */
function wsAttempt(port: number, origin?: string): Promise<"open" | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, origin === undefined ? {} : { origin });
    ws.on("open", () => {
      resolve("open");
      ws.terminate();
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", () => resolve(0));
  });
}

describe("connection caps count at the TCP accept", () => {
  it("per IP: sockets that never finish the WebSocket upgrade hold slots (429), and free them on close", async () => {
    const g = await start({ gateway: { maxConnectionsPerIp: 3 } });
    // Two never send a byte, one stops half-way through its request line.
    const halfOpen = [await rawSocket(g.wsPort), await rawSocket(g.wsPort), await rawSocket(g.wsPort)];
    halfOpen[2]?.write("GET /ws HT");
    const refusedWs = await rawSocket(g.wsPort);
    await whenClosed(refusedWs);
    expect(refusedWs.received()).toMatch(/^HTTP\/1\.1 429 /);
    // The budget is shared with the TCP port.
    const refusedTcp = await rawSocket(g.tcpPort);
    await whenClosed(refusedTcp);
    expect(await metric(g, "whaleshark_gateway_connections_refused_total", { reason: "ip-limit" })).toBe(2);
    for (const s of halfOpen) s.destroy();
    await expect.poll(async () => wsAttempt(g.wsPort)).toBe("open");
    const c = await RawClient.ws(g.wsPort);
    clients.push(c);
    await login(c, "after-free");
  });

  it("in all: past gateway.maxConnections new sockets are refused (503 on the WebSocket port)", async () => {
    const g = await start({ gateway: { maxConnections: 2, maxConnectionsPerIp: 100 } });
    const held = await RawClient.tcp(g.tcpPort);
    clients.push(held);
    await login(held, "held");
    await rawSocket(g.wsPort); // in its handshake, never finishing it
    const refusedWs = await rawSocket(g.wsPort);
    await whenClosed(refusedWs);
    expect(refusedWs.received()).toMatch(/^HTTP\/1\.1 503 /);
    const refusedTcp = await rawSocket(g.tcpPort);
    await whenClosed(refusedTcp);
    expect(await metric(g, "whaleshark_gateway_connections_refused_total", { reason: "total-limit" })).toBe(
      2,
    );
    // The logged-in connection is untouched: it still gets answers.
    held.send({ command: 5000, body: {} });
    expect((await held.next()).command).toBe(9006);
  });
});

describe("login deadline (gateway.loginTimeoutMs)", () => {
  it.each(["tcp", "ws"] as const)("closes a %s socket that only PINGs, however often", async (kind) => {
    const g = await start({ gateway: { loginTimeoutMs: 600 } });
    const c = await RawClient.connect(kind, kind === "tcp" ? g.tcpPort : g.wsPort);
    clients.push(c);
    const started = Date.now();
    const pinger = setInterval(() => c.send({ command: 9999, body: {} }), 100);
    try {
      await c.waitClosed(5000);
    } finally {
      clearInterval(pinger);
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(3000);
    expect(c.frames.length).toBeGreaterThan(0); // its PINGs were answered (60002) meanwhile
    expect(await metric(g, "whaleshark_gateway_connections_closed_total", { reason: "login-timeout" })).toBe(
      1,
    );
  });

  it("leaves a connection that logged in in time alone", async () => {
    const g = await start({ gateway: { loginTimeoutMs: 400 } });
    const c = await RawClient.tcp(g.tcpPort);
    clients.push(c);
    await login(c, "punctual");
    await new Promise((r) => setTimeout(r, 800));
    c.send({ command: 5000, body: {} });
    expect((await c.next()).command).toBe(9006);
    expect(c.closed).toBe(false);
  });

  it("closes a TCP socket that trickles a frame header and never logs in", async () => {
    const g = await start({ gateway: { loginTimeoutMs: 500 } });
    const s = await rawSocket(g.tcpPort);
    const frame = buildFrame({ command: 9000, body: { userId: "slow" } });
    let i = 0;
    const trickle = setInterval(() => {
      if (i < frame.length && !s.destroyed) s.write(frame.subarray(i, ++i));
    }, 50);
    try {
      expect(await whenClosed(s)).toBeLessThan(3000);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe("WebSocket handshake deadline (gateway.handshakeTimeoutMs)", () => {
  it("answers 408 and closes a socket whose upgrade headers trickle in", async () => {
    const g = await start({ gateway: { handshakeTimeoutMs: 300 } });
    const s = await rawSocket(g.wsPort);
    s.write("GET /ws HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write("X");
    }, 50);
    try {
      expect(await whenClosed(s)).toBeLessThan(3000);
    } finally {
      clearInterval(trickle);
    }
    expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes a socket that sends nothing at all", async () => {
    const g = await start({ gateway: { handshakeTimeoutMs: 300 } });
    const s = await rawSocket(g.wsPort);
    expect(await whenClosed(s)).toBeLessThan(3000);
  });
});

describe("WebSocket Origin policy (gateway.allowedOrigins)", () => {
  it("refuses an origin not on the list with 403; allows listed origins and clients without Origin", async () => {
    const g = await start({
      gateway: { allowedOrigins: ["https://app.example.com", "https://*.chat.example"] },
    });
    expect(await wsAttempt(g.wsPort, "https://evil.example")).toBe(403);
    expect(await wsAttempt(g.wsPort, "https://app.example.com.evil.example")).toBe(403);
    expect(await wsAttempt(g.wsPort, "https://app.example.com")).toBe("open");
    expect(await wsAttempt(g.wsPort, "https://eu.chat.example")).toBe("open");
    expect(await wsAttempt(g.wsPort)).toBe("open");
    expect(await metric(g, "whaleshark_gateway_connections_refused_total", { reason: "origin" })).toBe(2);
  });

  it("allows every origin in the embedded profile by default", async () => {
    const g = await start();
    expect(await wsAttempt(g.wsPort, "http://localhost:5173")).toBe("open");
  });
});

describe("the client's address is on every connection log line", () => {
  it("malformed frames, closes and refusals name ip:port", async () => {
    const lines: LogLine[] = [];
    const g = await start({ gateway: { maxConnectionsPerIp: 1 } }, lines);
    const bad = await rawSocket(g.tcpPort);
    const remote = bad.local;
    const header = Buffer.alloc(28);
    header.writeInt32BE(1103, 0);
    header.writeInt32BE(-1, 24); // negative body length: malformed
    bad.write(header);
    await whenClosed(bad);
    const malformed = lines.find((l) => l.msg === "malformed frame, closing");
    expect(malformed?.remote).toBe(remote);
    await expect.poll(() => lines.find((l) => l.msg === "connection closed")?.remote).toBe(remote);

    // The malformed socket's slot frees when its socket has closed on the server too.
    await expect
      .poll(async () => {
        const held = await RawClient.ws(g.wsPort).catch(() => undefined);
        if (held !== undefined) clients.push(held);
        return held !== undefined;
      })
      .toBe(true);
    const refused = await rawSocket(g.tcpPort);
    await whenClosed(refused);
    const refusal = lines.find((l) => l.msg === "connection refused" && l.listener === "tcp");
    expect(refusal).toMatchObject({ remote: refused.local, reason: "ip-limit" });
  });
});

describe("the gateway's gRPC port", () => {
  it("binds to loopback by default even when the client ports listen on every address", async () => {
    const g = await start({ gateway: { host: "0.0.0.0" } });
    expect(g.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;
    if (lan === undefined) return; // no non-loopback address on this machine to try from
    const port = Number(g.grpcAddress.split(":")[1]);
    await expect(rawSocket(port, lan)).rejects.toThrow(/ECONNREFUSED/);
    (await rawSocket(g.tcpPort, lan)).destroy(); // while the client port is reachable there
  });

  it("serves health; reflection per grpc.reflection (the gateway mounts no public service)", async () => {
    const g = await start({ grpc: { reflection: "public" } });
    const reflection = new GrpcReflection(g.grpcAddress, grpc.credentials.createInsecure());
    await expect(reflection.listServices()).rejects.toThrow(/UNIMPLEMENTED/);
    const client = new grpc.Client(g.grpcAddress, grpc.credentials.createInsecure());
    const status = await new Promise<number>((resolve, reject) =>
      client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        () => Buffer.alloc(0),
        (b: Buffer) => b,
        {},
        { deadline: Date.now() + 5000 },
        (err, res) => (err ? reject(err) : resolve(res?.[1] ?? 0)),
      ),
    );
    client.close();
    expect(status).toBe(1);
  });
});
