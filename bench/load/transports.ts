import { connect } from "node:net";
import WebSocket from "ws";
import { DEFAULT_MAX_FRAME_BYTES, ServerFrameDecoder } from "../../lib/wire/index.js";
import type { ClientTransport, TransportFactory } from "../../sdk/index.js";
import { wsTransport } from "../../sdk/index.js";

/** The two client transports of spec §2. */
export type BenchTransportKind = "ws" | "tcp";

/** Where one client connects. */
export interface ClientEndpoint {
  host: string;
  tcpPort: number;
  wsPort: number;
  wsPath: string;
}

/**
 * A transport factory for the SDK that connects from `localAddress` (a 127.0.0.x address), so
 * more than one source address shares the work when one runs out of ephemeral ports (~28k per
 * source address and destination). WebSocket goes through the SDK's own wsTransport with the
 * `ws` class bound to that address (permessage-deflate off, as the gateway has it); TCP is a copy
 * of the SDK's tcpTransport plus `localAddress`, which the SDK's does not take.
 */
export function benchTransport(
  kind: BenchTransportKind,
  endpoint: ClientEndpoint,
  localAddress: string | undefined,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
): TransportFactory {
  if (kind === "ws") {
    class BoundWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { localAddress, perMessageDeflate: false });
      }
    }
    return wsTransport({
      url: `ws://${endpoint.host}:${endpoint.wsPort}${endpoint.wsPath}`,
      WebSocket: BoundWebSocket,
      maxFrameBytes,
    });
  }
  return (sink) =>
    new Promise<ClientTransport>((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.tcpPort, localAddress });
      const timer = setTimeout(() => socket.destroy(new Error("TCP connect timed out")), 30_000);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        const decoder = new ServerFrameDecoder({ maxFrameBytes });
        let failure: Error | undefined;
        socket.on("data", (chunk: Buffer) => {
          try {
            for (const frame of decoder.push(chunk)) sink.frame(frame);
          } catch (error) {
            socket.destroy(error as Error);
          }
        });
        socket.on("error", (error) => {
          failure ??= error;
        });
        socket.once("close", () => sink.closed(failure));
        resolve({
          kind: "tcp",
          send(frame) {
            if (socket.destroyed || socket.writableEnded) return false;
            socket.write(frame);
            return true;
          },
          close() {
            if (!socket.writableEnded) socket.end();
            setTimeout(() => socket.destroy(), 1_000).unref();
          },
        });
      });
    });
}

/**
 * The source address of connection `index` when `count` addresses share the load:
 * 127.0.0.1, 127.0.0.2, … (all of 127/8 is loopback on Linux). Undefined for one address, so
 * the OS picks as usual.
 */
export function sourceAddress(index: number, count: number): string | undefined {
  if (count <= 1) return undefined;
  return `127.0.0.${(index % count) + 1}`;
}
