import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import type { HttpEdge } from "./edge.js";

/**
 * HTTP/1.1 beside gRPC on one port (issue 14, the original's ports 18000/18001): the gRPC server's
 * listener hands each accepted connection here, the first bytes decide. A connection that opens
 * with the HTTP/2 client preface (`PRI * HTTP/2.0`, RFC 9113 §3.4: gRPC always speaks HTTP/2
 * with prior knowledge over plain TCP) goes to grpc-js; anything else is HTTP/1.1 for the edge.
 * The bytes read to decide are pushed back, so either side reads the connection from its start
 * (Node's HTTP/2 session takes bytes already buffered on the socket, the HTTP/1 parser too).
 */

/** The start of the HTTP/2 client preface; no HTTP/1.x request line starts with it. */
const PREFACE_START = Buffer.from("PRI * HTTP/2.0", "latin1");

/** Whether the first bytes of a connection are (a prefix of) the HTTP/2 client preface. */
export function isHttp2Preface(first: Buffer): boolean {
  const n = Math.min(first.length, PREFACE_START.length);
  return n > 0 && first.subarray(0, n).equals(PREFACE_START.subarray(0, n));
}

/**
 * Waits for the first bytes of `socket`, then hands it to `http2` or `http1`. A socket that closes
 * or fails before sending anything is left alone (its owner's limiter sees the close).
 */
export function routeByPreface(socket: Socket, http2: () => void, http1: () => void): void {
  // Until a server owns the socket nobody else listens for its errors (a reset before the first
  // byte would otherwise be an uncaught 'error'); 'close' follows and the limiter counts it.
  socket.on("error", () => undefined);
  socket.once("data", (first: Buffer) => {
    socket.pause();
    socket.unshift(first);
    if (isHttp2Preface(first)) http2();
    else http1();
  });
}

/** The HTTP/1.1 side of a shared port: a node:http server that never listens, fed connections. */
export class Http1Side {
  readonly #server: Server;

  constructor(edge: HttpEdge, opts: { idleTimeoutMs: number; maxHeaderBytes?: number }) {
    this.#server = createServer(
      {
        maxHeaderSize: opts.maxHeaderBytes ?? 16 * 1024,
        keepAliveTimeout: 5000,
        // A request's headers must arrive within 10 s and the whole request within 30 s
        // (slowloris), checked every second.
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => edge.handle(req, res),
    );
    // The server never listens (its connections come from the gRPC port's listener). Node starts
    // its connection tracking, which enforces the two timeouts above and which
    // closeIdleConnections() needs, on the 'listening' event: emit it once (the check's timer is
    // unref'd and close() stops it).
    this.#server.emit("listening");
    // Idle connections (no bytes either way) are closed as well.
    this.#server.setTimeout(opts.idleTimeoutMs, (socket) => socket.destroy());
  }

  /** Serves HTTP/1.1 on an accepted connection (its first bytes are still unread). */
  accept(socket: Socket): void {
    this.#server.emit("connection", socket);
    socket.resume();
  }

  /** Closes idle keep-alive connections now (and stops the timeout checks); with `all`, the busy ones too. */
  close(all: boolean): void {
    if (all) this.#server.closeAllConnections();
    else {
      this.#server.close(); // stops the checks; the server was never bound, so nothing else happens
      this.#server.closeIdleConnections();
    }
  }
}
