import { DEFAULT_MAX_FRAME_BYTES, decodeServerFrame } from "../../lib/wire/index.js";
import type { ClientTransport, TransportFactory } from "./transport.js";

/**
 * An event handler property. Declared through a method so its parameter is checked bivariantly:
 * the DOM's and the `ws` package's handlers take richer event types than this transport reads.
 */
type Handler<E> = { handle(event: E): void }["handle"] | null;

/**
 * The part of the WHATWG WebSocket this transport uses; the browser's global WebSocket (and
 * Node 22's) and the `ws` package's class both provide it.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: Handler<unknown>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<{ code: number; reason: string }>;
  onerror: Handler<unknown>;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Where and how to open a WebSocket connection. */
export interface WsTransportOptions {
  /** The gateway's endpoint, e.g. `ws://localhost:19002/ws` (spec §2.3). */
  url: string;
  /**
   * The WebSocket class to use. Defaults to the global one (browsers, Node ≥ 22). On Node 20 pass
   * the `ws` package's class: `import WebSocket from "ws"`.
   */
  WebSocket?: WebSocketConstructor;
  /** Largest server frame payload accepted (default 64 KiB); a bigger one closes the connection. */
  maxFrameBytes?: number;
}

const OPEN = 1;
/** RFC 6455 close code for a protocol error (a malformed frame). */
const PROTOCOL_ERROR = 1002;

/**
 * A TransportFactory for WebSocket binary frames, browser-safe (no Node imports). Each binary
 * message holds exactly one server frame (spec §2.3); text messages are ignored as the original
 * gateway ignored them; a malformed frame closes the connection with the FrameError as its error.
 */
export function wsTransport(options: WsTransportOptions): TransportFactory {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ctor === undefined) {
    throw new Error("no global WebSocket here: pass options.WebSocket (e.g. the `ws` package's class)");
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  return (sink) =>
    new Promise((resolve, reject) => {
      const socket = new Ctor(options.url);
      socket.binaryType = "arraybuffer";
      let opened = false;
      let failure: Error | undefined;
      socket.onerror = () => {
        failure ??= new Error(`WebSocket error on ${options.url}`);
      };
      socket.onopen = () => {
        opened = true;
        resolve(transport);
      };
      socket.onclose = (event) => {
        if (!opened) {
          reject(failure ?? new Error(`WebSocket to ${options.url} closed before opening (${event.code})`));
          return;
        }
        sink.closed(failure ?? (event.code === 1000 ? undefined : new Error(`closed: ${event.code}`)));
      };
      socket.onmessage = (event) => {
        const bytes = toBytes(event.data);
        if (bytes === undefined) return;
        try {
          sink.frame(decodeServerFrame(bytes, maxFrameBytes));
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
          socket.close(PROTOCOL_ERROR, "malformed frame");
        }
      };
      const transport: ClientTransport = {
        kind: "ws",
        send(frame) {
          if (socket.readyState !== OPEN) return false;
          socket.send(frame);
          return true;
        },
        close() {
          socket.close(1000);
        },
      };
    });
}

/** Binary message data as bytes; undefined for text messages. */
function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
