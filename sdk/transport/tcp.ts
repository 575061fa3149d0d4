import { connect, type Socket } from "node:net";
import { DEFAULT_MAX_FRAME_BYTES, ServerFrameDecoder } from "../../lib/wire/index.js";
import type { ClientTransport, TransportFactory, TransportSink } from "./transport.js";

/** Where and how to open a raw TCP connection (Node only). */
export interface TcpTransportOptions {
  host: string;
  /** The gateway's TCP port (19001 by default on the server). */
  port: number;
  /** Largest server frame payload accepted (default 64 KiB); a bigger one closes the connection. */
  maxFrameBytes?: number;
  /** Give up opening after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/**
 * A TransportFactory for raw TCP via `node:net` (Node only; browsers use wsTransport). Incoming
 * bytes go through the bounded streaming ServerFrameDecoder, so any segmentation works; a
 * malformed frame closes the connection with the FrameError as its error.
 */
export function tcpTransport(options: TcpTransportOptions): TransportFactory {
  return (sink) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy(new Error(`TCP connect to ${options.host}:${options.port} timed out`));
      }, options.connectTimeoutMs ?? 10_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once("error", fail);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", fail);
        socket.setNoDelay(true);
        resolve(attach(socket, sink, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES));
      });
    });
}

function attach(socket: Socket, sink: TransportSink, maxFrameBytes: number): ClientTransport {
  const decoder = new ServerFrameDecoder({ maxFrameBytes });
  let failure: Error | undefined;
  socket.on("data", (chunk: Buffer) => {
    try {
      for (const frame of decoder.push(chunk)) sink.frame(frame);
    } catch (error) {
      socket.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
  socket.on("error", (error) => {
    failure ??= error;
  });
  socket.once("close", () => sink.closed(failure));
  return {
    kind: "tcp",
    send(frame) {
      if (socket.destroyed || socket.writableEnded) return false;
      socket.write(frame);
      return true;
    },
    close() {
      if (!socket.writableEnded) socket.end();
      // end() waits for the peer's FIN; do not let a silent peer hold the socket forever.
      setTimeout(() => socket.destroy(), 1_000).unref();
    },
  };
}
