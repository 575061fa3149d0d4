import { connect, type Socket } from "node:net";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { generateUserSign } from "../../lib/auth/index.js";
import { MessageEncoding } from "../../lib/wire/index.js";
import { type DeviceHeader, encodeRequest } from "../../sdk/frames.js";
import { sleep } from "../lib/clock.js";
import type { AgentCounters, FloodResult, FloodSpec } from "./agent-protocol.js";
import { makeBody } from "./message-body.js";

/** Bytes of a TCP server frame's header: command, payload length (spec §2.2). */
const SERVER_HEADER = 8;

/**
 * The flooding user of the `flood` scenario (issue 13 item 3): ONE raw TCP connection (no SDK:
 * it never waits, never honours a retry hint) that logs in and then keeps `spec.window` P2P sends
 * written and unanswered for `spec.durationMs`, writing the next one for every ACK, like the
 * probe that pipelined 10,000 sends. Counts the ACKs by code: 200 accepted, 60006 refused for
 * rate, anything else. It runs in its own load-generator process, so its own work does not slow
 * the clients whose ACK times are measured.
 */
export async function runFlood(spec: FloodSpec, counters: AgentCounters): Promise<FloodResult> {
  const header: DeviceHeader = {
    appId: spec.appId,
    clientType: 3,
    imei: "bench-flood",
    version: 1,
    encoding: MessageEncoding.JSON,
  };
  const socket = await open(spec.host, spec.tcpPort);
  const frames = serverFrames(socket);
  const userSign = generateUserSign({
    appId: spec.appId,
    identifier: spec.userId,
    privateKey: spec.privateKey,
    expireSeconds: 3600,
  });
  socket.write(encodeRequest(header, Command.COMMAND_LOGIN, { userId: spec.userId, userSign }));
  const login = await frames.next();
  if (login?.command !== Command.COMMAND_LOGIN_ACK)
    throw new Error(`flood: LOGIN answered ${login?.command}`);
  counters.connected++;

  const body = makeBody({ r: "flood", p: 0, n: 0, t: 0 }, spec.bodyBytes);
  let written = 0;
  const write = (n: number) => {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < n; i++, written++) {
      batch.push(
        encodeRequest(header, Command.COMMAND_MSG_P2P, {
          fromId: spec.userId,
          toId: spec.toId,
          messageId: `${spec.runId}-${written}`,
          messageBody: body,
          messageTime: Date.now(),
        }),
      );
    }
    counters.sent += n;
    socket.write(Buffer.concat(batch));
  };
  const byCode: Record<string, number> = {};
  let answered = 0;
  let retryAfterMaxMs = 0;
  let flooding = true;
  const started = performance.now();
  frames.onFrame = (command, text) => {
    if (command !== Command.COMMAND_MSG_ACK) return; // 1107 "stored, receiver offline" and others
    answered++;
    counters.acked++;
    const code = /"code":(\d+)/.exec(text)?.[1] ?? "?";
    byCode[code] = (byCode[code] ?? 0) + 1;
    const retry = /"retryAfterMs":(\d+)/.exec(text)?.[1];
    if (retry !== undefined) retryAfterMaxMs = Math.max(retryAfterMaxMs, Number(retry));
    if (flooding) write(1);
  };
  write(spec.window);
  await sleep(spec.durationMs);
  flooding = false;
  const floodMs = performance.now() - started;
  // What is still unanswered gets a moment to be answered (refusals come at once).
  await Promise.race([frames.until(() => answered >= written), sleep(spec.drainMs)]);
  socket.destroy();
  const accepted = byCode["200"] ?? 0;
  return {
    written,
    answered,
    accepted,
    refused: byCode["60006"] ?? 0,
    byCode,
    acceptedPerSec: Math.round((accepted / floodMs) * 1000),
    retryAfterMaxMs,
    floodMs: Math.round(floodMs),
  };
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** The server frames of a TCP connection: the first one awaited, then every one to `onFrame`. */
function serverFrames(socket: Socket) {
  let buffer: Buffer = Buffer.alloc(0);
  let waiter: ((f: { command: number; text: string } | undefined) => void) | undefined;
  const watchers: Array<() => void> = [];
  const api = {
    onFrame: undefined as ((command: number, text: string) => void) | undefined,
    next(): Promise<{ command: number; text: string } | undefined> {
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
    async until(done: () => boolean): Promise<void> {
      while (!done()) await new Promise<void>((resolve) => watchers.push(resolve));
    },
  };
  socket.on("data", (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let offset = 0;
    while (buffer.length - offset >= SERVER_HEADER) {
      const length = buffer.readInt32BE(offset + 4);
      if (buffer.length - offset < SERVER_HEADER + length) break;
      const command = buffer.readInt32BE(offset);
      const text = buffer.toString("utf8", offset + SERVER_HEADER, offset + SERVER_HEADER + length);
      offset += SERVER_HEADER + length;
      if (waiter !== undefined) {
        const w = waiter;
        waiter = undefined;
        w({ command, text });
      } else api.onFrame?.(command, text);
    }
    buffer = buffer.subarray(offset);
    for (const w of watchers.splice(0)) w();
  });
  socket.on("close", () => {
    waiter?.(undefined);
    for (const w of watchers.splice(0)) w();
  });
  socket.on("error", () => undefined);
  return api;
}
