import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { limitConnections, peerOf, RefusalLog } from "../../lib/net/connection-limiter.js";
import { decodeClientFrame, FrameError, HEADER_BYTES, isFrameError } from "../../lib/wire/index.js";
import { ConnectionBase } from "./connection-base.js";
import type { OriginPolicy } from "./origin-policy.js";
import type { ListenerOptions, RunningListener } from "./tcp-server.js";
import type { CloseReason } from "./transport.js";
import type { Corkable } from "./turn-batch.js";

/** Options of the WebSocket listener. */
export interface WsListenerOptions extends ListenerOptions {
  /** Exact path of the upgrade (`gateway.wsPath`, the original's `/ws`). */
  path: string;
  /**
   * `gateway.handshakeTimeoutMs`: how long after the TCP accept the upgrade request's headers may
   * take (Node's headersTimeout and requestTimeout); past it the socket gets 408 and is closed.
   */
  handshakeTimeoutMs: number;
  /** Which browser origins may open a WebSocket (`gateway.allowedOrigins`, origin-policy.ts). */
  origins: OriginPolicy;
  /**
   * Plain HTTP requests (not upgrades) this listener also answers, e.g. the web console
   * (gateway/console); returns false for a request it does not take, which then gets 426.
   */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** WebSocket close codes (RFC 6455 §7.4) sent for each close reason. */
const WS_CLOSE_CODE: Record<CloseReason, number> = {
  "client-closed": 1000,
  logout: 1000,
  kicked: 4001,
  replaced: 4002,
  "heartbeat-timeout": 4003,
  "slow-consumer": 1008,
  "frame-error": 1002,
  "login-failed": 1008,
  "login-timeout": 4004,
  "server-stopping": 1001,
  "send-flood": 1008,
};

/** `ws.send` options of every frame; one object for all of them. */
const BINARY = { binary: true } as const;

/**
 * One WebSocket connection: one client frame per binary message (spec §2.3). `socket` is the
 * upgraded TCP socket under `ws`: the write batch corks it, so the messages `ws` writes in one
 * turn leave in one system call, each still its own WebSocket message.
 */
class WsTransport extends ConnectionBase<WsListenerOptions> {
  readonly kind = "ws" as const;

  constructor(
    private readonly ws: WebSocket,
    socket: Corkable,
    peer: { remoteAddress: string; remote: string; acceptedAtMs: number },
    options: WsListenerOptions,
  ) {
    super(peer, socket, options);
  }

  get queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  protected listen(): void {
    this.ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    this.ws.on("error", (err: Error & { code?: string }) => {
      this.options.logger.debug({ err, remote: this.remote }, "websocket error");
      // ws closes the socket itself after a protocol error; an oversized message is a frame error
      // of ours (maxPayload = header + maxFrameBytes), the rest are ordinary disconnects.
      if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        this.frameFailed(new FrameError("frame-too-large", "websocket message"));
      }
    });
    this.ws.on("close", () => this.finish("client-closed"));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const bytes = toBytes(data);
    this.options.observer.bytesIn("ws", bytes.length);
    // The original ignored text frames (spec §2.3); so do we, they carry no protocol frame.
    if (!isBinary) return;
    let frame: ReturnType<typeof decodeClientFrame>;
    try {
      frame = decodeClientFrame(bytes, this.options.maxFrameBytes);
    } catch (error) {
      if (!isFrameError(error)) throw error;
      this.frameFailed(error);
      return;
    }
    if (frame.nulPadding) this.options.observer.nulPadded?.("ws");
    this.handler?.onFrame(frame);
  }

  protected send(frame: Uint8Array): void {
    this.ws.send(frame, BINARY);
  }

  protected canCloseGently(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  protected closeGently(reason: CloseReason): void {
    this.ws.close(WS_CLOSE_CODE[reason], reason);
  }

  protected cut(): void {
    this.ws.terminate();
  }

  protected pause(): void {
    this.ws.pause();
  }

  protected resume(): void {
    this.ws.resume();
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** Answers an HTTP request on the upgrade socket and drops it. */
function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** The answer to a socket refused at accept, before any HTTP was read. */
const REFUSED_STATUS = { "ip-limit": "429 Too Many Requests", "total-limit": "503 Service Unavailable" };

/** When each socket of the HTTP server was accepted (the login deadline counts from it). */
const acceptedAt = new WeakMap<Socket, number>();

/**
 * Starts the WebSocket listener (spec §2.3, port 19002): upgrades only on the exact path (a query
 * string is allowed) and from an allowed Origin, binary messages only, no compression (frames are
 * small and compression costs memory per connection), a payload limit of one client frame
 * (`28 + maxFrameBytes`).
 *
 * Limits hold before any HTTP work: the connection caps are checked at the TCP accept, so sockets
 * that never finish (or never start) their upgrade request count against them (answered 429 per
 * IP, 503 in all, then closed); the request's headers must be complete within `handshakeTimeoutMs`
 * (408). Other HTTP requests go to `options.http` (the web console) when it takes them, else get
 * 426 and the socket is closed; an upgrade on a wrong path gets 404, from a refused Origin 403.
 */
export async function startWsServer(options: WsListenerOptions): Promise<RunningListener> {
  const log = options.logger;
  const refusals = new RefusalLog(log, "ws");
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: HEADER_BYTES + options.maxFrameBytes,
  });
  const timeout = options.handshakeTimeoutMs;
  const http = createServer(
    {
      headersTimeout: timeout,
      requestTimeout: timeout,
      // How often Node checks the two timeouts above (its default, 30 s, would let a slow request
      // live that much longer than configured).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 4))),
    },
    (req, res) => {
      if (options.http?.(req, res) === true) return;
      res
        .writeHead(426, { "content-type": "text/plain", upgrade: "websocket", connection: "close" })
        .end("websocket only\n");
    },
  );
  http.on("connection", (socket: Socket) => {
    acceptedAt.set(socket, Date.now());
    socket.on("error", (err) => log.debug({ err, remote: peerOf(socket) }, "websocket socket error"));
  });
  limitConnections(http, options.limiter, (socket, reason) => {
    socket.on("error", () => undefined); // a peer gone before the answer is what we wanted anyway
    options.observer.refused("ws", reason);
    refusals.refused(peerOf(socket), reason);
    refuse(socket, REFUSED_STATUS[reason]);
  });
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const tcp = req.socket;
    const remote = peerOf(tcp);
    const path = (req.url ?? "").split("?")[0];
    if (path !== options.path) {
      options.observer.refused("ws", "bad-path");
      refusals.refused(remote, "bad-path");
      refuse(socket, "404 Not Found");
      return;
    }
    const origin = req.headers.origin;
    if (!options.origins.allows(origin)) {
      options.observer.refused("ws", "origin");
      refusals.refused(remote, "origin");
      log.debug({ remote, origin: String(origin).slice(0, 200) }, "websocket origin refused");
      refuse(socket, "403 Forbidden");
      return;
    }
    const peer = {
      remoteAddress: tcp.remoteAddress ?? "unknown",
      remote,
      acceptedAtMs: acceptedAt.get(tcp) ?? Date.now(),
    };
    wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = new WsTransport(ws, socket, peer, options);
      try {
        transport.attach(options.accept(transport));
      } catch (err) {
        log.error({ err, remote }, "websocket accept failed");
        ws.terminate();
      }
    });
  });
  http.on("error", (err) => log.error({ err }, "websocket server error"));
  await new Promise<void>((resolve, reject) => {
    http.once("error", (err) =>
      reject(new Error(`gateway: cannot listen on ws ${options.host}:${options.port}: ${err.message}`)),
    );
    http.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (http.address() as AddressInfo).port,
    stopAccepting: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Upgraded sockets are no longer HTTP connections; idle keep-alive ones are closed here.
        http.closeIdleConnections();
      }),
  };
}
