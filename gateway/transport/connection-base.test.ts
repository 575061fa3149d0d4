import { connect, type Socket } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ConnectionLimiter } from "../../lib/net/connection-limiter.js";
import { originPolicy } from "./origin-policy.js";
import { type ListenerOptions, type RunningListener, startTcpServer } from "./tcp-server.js";
import type { CloseReason, Transport, TransportHandler } from "./transport.js";
import { startWsServer } from "./ws-server.js";

/**
 * The shared connection code (connection-base.ts) through both real listeners: frames written in
 * one turn leave together and in order, the queue bound judges only what the peer has not taken
 * (bytes held for the batch do not count against a healthy reader), and close runs onClose once.
 */
const QUEUE_BYTES = 4096;
const running: RunningListener[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await Promise.all(running.splice(0).map((l) => l.stopAccepting()));
});

/** Starts a listener of `kind`; resolves with its port and the next accepted transport. */
async function listen(kind: "tcp" | "ws") {
  let accepted: (t: Transport) => void = () => {};
  const transport = new Promise<Transport>((resolve) => {
    accepted = resolve;
  });
  const closes: CloseReason[] = [];
  const options: ListenerOptions = {
    host: "127.0.0.1",
    port: 0,
    maxFrameBytes: 1024,
    sendQueueMaxBytes: QUEUE_BYTES,
    limiter: new ConnectionLimiter({ maxConnections: 100, maxConnectionsPerIp: 100 }),
    observer: { bytesIn: () => {}, bytesOut: () => {}, refused: () => {} },
    logger: pino({ level: "silent" }),
    accept(t): TransportHandler {
      accepted(t);
      return { onFrame: () => {}, onFrameError: () => {}, onClose: (r) => closes.push(r) };
    },
  };
  const listener =
    kind === "tcp"
      ? await startTcpServer(options)
      : await startWsServer({
          ...options,
          path: "/ws",
          handshakeTimeoutMs: 5000,
          origins: originPolicy(["*"]),
        });
  running.push(listener);
  return { port: listener.port, transport, closes };
}

/** A client that collects everything it receives (TCP bytes, or one entry per WebSocket message). */
async function client(kind: "tcp" | "ws", port: number) {
  const received: Buffer[] = [];
  if (kind === "tcp") {
    const socket: Socket = connect(port, "127.0.0.1");
    socket.on("data", (d) => received.push(d));
    await new Promise((r) => socket.once("connect", r));
    cleanups.push(() => socket.destroy());
    return { received, bytes: () => Buffer.concat(received).length };
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  ws.on("message", (d) => received.push(d as Buffer));
  await new Promise((r) => ws.once("open", r));
  cleanups.push(() => ws.terminate());
  return { received, bytes: () => received.reduce((n, b) => n + b.length, 0) };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Frame i: 1000 bytes of the byte i. */
const frame = (i: number) => new Uint8Array(1000).fill(i);

describe.each(["tcp", "ws"] as const)("a %s connection", (kind) => {
  it("takes more than the queue bound in one turn from a reader that keeps up, in order", async () => {
    const { port, transport, closes } = await listen(kind);
    const c = await client(kind, port);
    const t = await transport;
    // 20 KB in one turn against a 4 KiB bound: the batch is flushed to the kernel, which takes it.
    for (let i = 0; i < 20; i++) expect(t.write(frame(i))).toBe(true);
    await until(() => c.bytes() === 20_000);
    const all = Buffer.concat(c.received);
    for (let i = 0; i < 20; i++) expect(all[i * 1000]).toBe(i);
    if (kind === "ws") expect(c.received.map((m) => m.length)).toEqual(new Array(20).fill(1000));
    expect(t.closed).toBe(false);
    expect(closes).toEqual([]);
  });

  it("sends what was written before a gentle close, and reports the close once", async () => {
    const { port, transport, closes } = await listen(kind);
    const c = await client(kind, port);
    const t = await transport;
    t.write(frame(1));
    t.write(frame(2));
    t.close("logout");
    t.close("kicked");
    expect(t.write(frame(3))).toBe(false);
    await until(() => c.bytes() === 2000);
    expect(closes).toEqual(["logout"]);
  });
});
