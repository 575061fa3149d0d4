import WebSocket from "ws";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { decodeServerFrame, MessageEncoding } from "../../lib/wire/index.js";
import { type DeviceHeader, encodeRequest } from "../../sdk/frames.js";
import { epochMs, sleep } from "../lib/clock.js";
import { Histogram } from "../lib/histogram.js";
import type {
  AgentCounters,
  RawEchoResult,
  RawEchoSpec,
  RawListenSpec,
  RawSendSpec,
} from "./agent-protocol.js";
import type { ReceiveTally } from "./group-load.js";
import { makeBody } from "./message-body.js";

const HEADER: DeviceHeader = {
  appId: 10001,
  clientType: 3,
  imei: "bench-raw",
  version: 1,
  encoding: MessageEncoding.JSON,
};

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ws.once("message", (data) => resolve(data as Buffer));
    ws.once("close", () => reject(new Error("closed")));
  });
}

/**
 * The frame every raw echo sends: a real 1103 P2P frame (JSON, like the original clients), the
 * same bytes to the bare server and to the gateway, so both echo the same size. Its `fromId` is not
 * the logged-in user, so the gateway answers it itself with 9006 / 60005 (D26 check, before any
 * call to the domain): the gateway's own path of read → decode → dispatch → encode → write.
 */
function echoFrame(appId: number, bodyBytes: number): Uint8Array {
  return encodeRequest({ ...HEADER, appId }, Command.COMMAND_MSG_P2P, {
    fromId: "bench-someone-else",
    toId: "bench-peer",
    messageId: "bench-echo",
    messageBody: makeBody({ r: "echo", p: 0, n: 0, t: 0 }, bodyBytes),
  });
}

/**
 * Closed-loop echo over raw `ws` connections (no SDK on either side of the comparison):
 * `window` frames in flight per connection, each answer completing the oldest. Against the
 * gateway every connection logs in first (LOGIN 9000 → 9001) as its own user.
 */
export async function rawEcho(spec: RawEchoSpec, counters: AgentCounters): Promise<RawEchoResult> {
  const frame = echoFrame(spec.appId, spec.bodyBytes);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < spec.connections; i++) {
    const ws = await open(spec.url);
    if (spec.target === "gateway-local") {
      const userId = `bench-echo-${i}`;
      const userSign = generateUserSign({
        appId: spec.appId,
        identifier: userId,
        privateKey: spec.privateKey,
        expireSeconds: 3600,
      });
      const answer = nextMessage(ws);
      ws.send(encodeRequest({ ...HEADER, appId: spec.appId }, Command.COMMAND_LOGIN, { userId, userSign }));
      const ack = decodeServerFrame(await answer, 1 << 20);
      if (ack.command !== Command.COMMAND_LOGIN_ACK) throw new Error(`echo login answered ${ack.command}`);
    }
    sockets.push(ws);
    counters.connected++;
  }
  const rtt = new Histogram();
  let [completed, errors] = [0, 0];
  let running = true;
  const started = performance.now();
  const expected = spec.target === "gateway-local" ? Command.COMMAND_ERROR : Command.COMMAND_MSG_P2P;
  for (const ws of sockets) {
    const inFlight: number[] = [];
    const send = () => {
      inFlight.push(epochMs());
      counters.sent++;
      ws.send(frame);
    };
    ws.on("message", (data: Buffer) => {
      const sentAt = inFlight.shift();
      if (sentAt === undefined) return;
      // Client frames and server frames differ in layout; only the gateway's answer is decoded.
      if (spec.target === "gateway-local" && decodeServerFrame(data, 1 << 20).command !== expected) errors++;
      rtt.recordMs(epochMs() - sentAt);
      completed++;
      counters.acked++;
      if (running) send();
    });
    for (let w = 0; w < spec.window; w++) send();
  }
  await sleep(spec.durationMs);
  running = false;
  const elapsedMs = performance.now() - started;
  for (const ws of sockets) ws.terminate();
  return { connections: sockets.length, completed, errors, rtt: rtt.toData(), elapsedMs };
}

/** Opens `spec.connections` raw listeners on the bare server's broadcast path; returns the closer. */
export async function rawListen(spec: RawListenSpec, tally: ReceiveTally, counters: AgentCounters) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < spec.connections; i++) {
    const ws = await open(spec.url);
    const name = `l${i}`;
    ws.on("message", (data: Buffer) => tally.record(name, data.readUInt32BE(8), data.readDoubleBE(0)));
    sockets.push(ws);
    counters.connected++;
  }
  return () => {
    for (const ws of sockets) ws.terminate();
  };
}

/**
 * Sends broadcast frames on a fixed schedule from one raw connection: 8 bytes of scheduled time,
 * 4 of sequence number, padding up to `bodyBytes`. Resolves with the count and the closer.
 */
export async function rawSend(
  spec: RawSendSpec,
  counters: AgentCounters,
): Promise<{ sent: number; sendStartMs: number; close(): void }> {
  const ws = await open(spec.url);
  const total = Math.max(1, Math.floor((spec.ratePerSec * spec.durationMs) / 1000));
  const start = epochMs();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((epochMs() - start) * spec.ratePerSec) / 1000) + 1);
    for (; sent < due; sent++) {
      const payload = Buffer.alloc(Math.max(12, spec.bodyBytes));
      payload.writeDoubleBE(start + (sent * 1000) / spec.ratePerSec, 0);
      payload.writeUInt32BE(sent, 8);
      ws.send(payload);
      counters.sent++;
    }
    await sleep(1);
  }
  return { sent, sendStartMs: start, close: () => ws.terminate() };
}
