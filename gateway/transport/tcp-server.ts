import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { ClientFrameDecoder, isFrameError } from "../../lib/wire/index.js";
import { ConnectionBase, type ConnectionOptions } from "./connection-base.js";
import type { IpLimiter } from "./ip-limiter.js";
import type { Transport, TransportHandler } from "./transport.js";

/** Options shared by both listeners. */
export interface ListenerOptions extends ConnectionOptions {
  host: string;
  /** 0 picks a free port; the bound port is returned. */
  port: number;
  /** `gateway.maxFrameBytes`: largest imei + body of one client frame. */
  maxFrameBytes: number;
  limiter: IpLimiter;
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
    super(socket.remoteAddress ?? "unknown", socket, options);
    this.#decoder = new ClientFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  protected listen(): void {
    this.socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // Errors (ECONNRESET, EPIPE) are ordinary disconnects; 'close' follows and reports them.
    this.socket.on("error", (err) => this.options.logger.debug({ err }, "tcp socket error"));
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
 * per-IP limit, then gets a streaming ClientFrameDecoder (any split of the stream decodes, D20)
 * and a TcpTransport. TCP_NODELAY keeps small frames from waiting on Nagle; SO_KEEPALIVE as the
 * original (spec §4.5).
 */
export async function startTcpServer(options: ListenerOptions): Promise<RunningListener> {
  const log = options.logger;
  const server: Server = createServer({ noDelay: true, keepAlive: true }, (socket) => {
    const ip = socket.remoteAddress ?? "unknown";
    if (!options.limiter.tryAcquire(ip)) {
      options.observer.refused("tcp", "ip-limit");
      log.debug({ ip }, "tcp connection refused: too many connections from this address");
      socket.destroy();
      return;
    }
    socket.once("close", () => options.limiter.release(ip));
    const transport = new TcpTransport(socket, options);
    try {
      transport.attach(options.accept(transport));
    } catch (err) {
      log.error({ err }, "tcp accept failed");
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
