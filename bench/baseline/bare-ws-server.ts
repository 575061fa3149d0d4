/**
 * The bare transport baseline: a `ws` server with the gateway's WebSocket settings
 * (permessage-deflate off, binary frames, the same max payload) and nothing else. Path `/echo`
 * sends every message back to its sender; path `/broadcast` sends every message to every other
 * `/broadcast` connection. Run as a child process by the baseline scenario, so its RSS and CPU are
 * measured on their own like the gateway's: `node --import tsx bench/baseline/bare-ws-server.ts`.
 * Prints one JSON line `{"msg":"bare ws listening","port":N}` when ready; SIGTERM stops it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type RawData, type WebSocket, WebSocketServer } from "ws";

const HEADER_BYTES = 28;
const MAX_FRAME_BYTES = 65_536;

const http = createServer();
const wss = new WebSocketServer({
  server: http,
  perMessageDeflate: false,
  maxPayload: HEADER_BYTES + MAX_FRAME_BYTES,
});
const broadcast = new Set<WebSocket>();

wss.on("connection", (ws, request) => {
  if (request.url === "/broadcast") {
    broadcast.add(ws);
    ws.on("message", (data: RawData) => {
      for (const peer of broadcast) if (peer !== ws) peer.send(data, { binary: true });
    });
    ws.on("close", () => broadcast.delete(ws));
    return;
  }
  ws.on("message", (data: RawData) => ws.send(data, { binary: true }));
});

http.listen(Number(process.env.BARE_WS_PORT ?? 0), "127.0.0.1", () => {
  const { port } = http.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "bare ws listening", port })}\n`);
});

process.on("SIGTERM", () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  http.close(() => process.exit(0));
});
