import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { type ConnectionLimiter, peerOf, RefusalLog } from "../../lib/net/connection-limiter.js";
import { ClientFrameDecoder, isFrameError } from "../../lib/wire/index.js";
import { ConnectionBase, type ConnectionOptions } from "./connection-base.js";
import type { Transport, TransportHandler } from "./transport.js";

/** Options shared by both listeners. */
export interface ListenerOptions extends ConnectionOptions {
  host: string;
  /** 0 picks a free port; the bound port is returned. */
  port: number;
  /** `gateway.maxFrameBytes`: largest imei + body of one client frame. */
  maxFrameBytes: number;
  /**
   * `gateway.maxConnections` / `maxConnectionsPerIp`, one budget shared by both listeners and
   * counted at the TCP accept (WebSocket sockets still in their HTTP upgrade count too).
   */
  limiter: ConnectionLimiter;
  logger: Logger;
  /** Called once per accepted connection; returns the handler of its events. */
  accept(transport: Transport): TransportHandler;
}

/** A listening server. */
export interface RunningListener {
  port: number;
  /**
   * Stops accepting at once. The promise resolves when every connection of this listener has
   * closed too, so a caller stops accepting, closes its connections, then awaits it.
   */
  stopAccepting(): Promise<void>;
}

/** One raw TCP connection (spec §2.1 frames in, §2.2 frames out). */
class TcpTransport extends ConnectionBase<ListenerOptions> {
  readonly kind = "tcp" as const;
  readonly #decoder: ClientFrameDecoder;

  constructor(
    private readonly socket: Socket,
    options: ListenerOptions,
  ) {
    const remoteAddress = socket.remoteAddress ?? "unknown";
    super({ remoteAddress, remote: peerOf(socket), acceptedAtMs: Date.now() }, socket, options);
    this.#decoder = new ClientFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  protected listen(): void {
    this.socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // Errors (ECONNRESET, EPIPE) are ordinary disconnects; 'close' follows and reports them.
    this.socket.on("error", (err) =>
      this.options.logger.debug({ err, remote: this.remote }, "tcp socket error"),
    );
    this.socket.on("close", () => this.finish("client-closed"));
  }

  #onData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.observer.bytesIn("tcp", chunk.length);
    let frames: ReturnType<ClientFrameDecoder["push"]>;
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      if (!isFrameError(error)) throw error;
      this.frameFailed(error);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      if (frame.nulPadding) this.options.observer.nulPadded?.("tcp");
      this.handler?.onFrame(frame);
    }
  }

  protected send(frame: Uint8Array): void {
    this.socket.write(frame);
  }

  protected canCloseGently(): boolean {
    return true;
  }

  protected closeGently(): void {
    this.socket.end();
  }

  protected cut(): void {
    this.socket.destroy();
  }

  protected pause(): void {
    this.socket.pause();
  }

  protected resume(): void {
    this.socket.resume();
  }
}

/**
 * Starts the raw TCP listener (spec §2.1, port 19001). Each accepted socket first passes the
 * connection caps (per IP and in all; refused sockets are destroyed before any state exists), then
 * gets a streaming ClientFrameDecoder (any split of the stream decodes, D20) and a TcpTransport.
 * TCP_NODELAY keeps small frames from waiting on Nagle; SO_KEEPALIVE as the original (spec §4.5).
 */
export async function startTcpServer(options: ListenerOptions): Promise<RunningListener> {
  const log = options.logger;
  const refusals = new RefusalLog(log, "tcp");
  const server: Server = createServer({ noDelay: true, keepAlive: true }, (socket) => {
    const refusal = options.limiter.admit(socket);
    if (refusal !== undefined) {
      options.observer.refused("tcp", refusal);
      refusals.refused(peerOf(socket), refusal);
      socket.destroy();
      return;
    }
    const transport = new TcpTransport(socket, options);
    try {
      transport.attach(options.accept(transport));
    } catch (err) {
      log.error({ err, remote: transport.remote }, "tcp accept failed");
      socket.destroy();
    }
  });
  server.on("error", (err) => log.error({ err }, "tcp server error"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new Error(`gateway: cannot listen on tcp ${options.host}:${options.port}: ${err.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stopAccepting: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
