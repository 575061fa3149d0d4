import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { ClientFrameDecoder, isFrameError } from "../../lib/wire/index.js";
import type { IpLimiter } from "./ip-limiter.js";
import {
  type CloseReason,
  CloseReasons,
  fitsQueue,
  type Transport,
  type TransportHandler,
  type TransportObserver,
} from "./transport.js";

/** How long a flushing close may wait for the peer to take the last frames before the socket is cut. */
export const FLUSH_CLOSE_TIMEOUT_MS = 5000;

/** Options shared by both listeners. */
export interface ListenerOptions {
  host: string;
  /** 0 picks a free port; the bound port is returned. */
  port: number;
  /** `gateway.maxFrameBytes`: largest imei + body of one client frame. */
  maxFrameBytes: number;
  /** `gateway.sendQueueMaxBytes`: the outbound bound of each connection. */
  sendQueueMaxBytes: number;
  limiter: IpLimiter;
  observer: TransportObserver;
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
class TcpTransport implements Transport {
  readonly kind = "tcp" as const;
  readonly remoteAddress: string;
  #closed = false;
  #handler: TransportHandler | undefined;
  readonly #decoder: ClientFrameDecoder;

  constructor(
    private readonly socket: Socket,
    private readonly options: ListenerOptions,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "unknown";
    this.#decoder = new ClientFrameDecoder({ maxFrameBytes: options.maxFrameBytes });
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handler: TransportHandler): void {
    this.#handler = handler;
    this.socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // Errors (ECONNRESET, EPIPE) are ordinary disconnects; 'close' follows and reports them.
    this.socket.on("error", (err) => this.options.logger.debug({ err }, "tcp socket error"));
    this.socket.on("close", () => this.#finish("client-closed"));
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.options.observer.bytesIn("tcp", chunk.length);
    let frames: ReturnType<ClientFrameDecoder["push"]>;
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      if (!isFrameError(error)) throw error;
      this.#handler?.onFrameError(error);
      this.close("frame-error");
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return;
      this.#handler?.onFrame(frame);
    }
  }

  write(frame: Uint8Array): boolean {
    if (this.#closed) return false;
    if (!fitsQueue(this.socket.writableLength, frame.length, this.options.sendQueueMaxBytes)) {
      this.close("slow-consumer");
      return false;
    }
    this.socket.write(frame);
    this.options.observer.bytesOut("tcp", frame.length);
    return true;
  }

  writeMany(frames: readonly Uint8Array[]): boolean {
    for (const frame of frames) if (!this.write(frame)) return false;
    return true;
  }

  close(reason: CloseReason): void {
    if (this.#closed) return;
    if (CloseReasons[reason].flush) {
      this.socket.end();
      // A peer that never reads would keep a half-closed socket forever.
      setTimeout(() => this.socket.destroy(), FLUSH_CLOSE_TIMEOUT_MS).unref();
    } else {
      this.socket.destroy();
    }
    this.#finish(reason);
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.#closed) this.socket.resume();
  }

  #finish(reason: CloseReason): void {
    if (this.#handler === undefined) return;
    this.#closed = true;
    const handler = this.#handler;
    this.#handler = undefined; // onClose runs once, whichever of close() and 'close' comes first
    handler.onClose(reason);
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
