import { connect, type Socket } from "node:net";
import { WebSocket } from "ws";

/**
 * A protocol client written from spec §2 alone, on raw bytes, without lib/wire or the sdk: it
 * checks the gateway against the spec rather than against our own codec.
 */

/** Fields of a client→server frame (spec §2.1). */
export interface RawFrameFields {
  command: number;
  version?: number;
  clientType?: number;
  messageType?: number;
  appId?: number;
  imei?: string;
  /** Body bytes, or a value to send as JSON. */
  body?: Uint8Array | object | string;
}

const utf8 = new TextEncoder();

/** Builds a client frame: seven big-endian int32 (command, version, clientType, messageType, appId, imeiLength, bodyLength), imei, body. */
export function buildFrame(f: RawFrameFields): Uint8Array {
  const imei = utf8.encode(f.imei ?? "web");
  const body =
    f.body instanceof Uint8Array
      ? f.body
      : typeof f.body === "string"
        ? utf8.encode(f.body)
        : utf8.encode(f.body === undefined ? "" : JSON.stringify(f.body));
  const out = new Uint8Array(28 + imei.length + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, f.command);
  view.setInt32(4, f.version ?? 1);
  view.setInt32(8, f.clientType ?? 1);
  view.setInt32(12, f.messageType ?? 0);
  view.setInt32(16, f.appId ?? 10001);
  view.setInt32(20, imei.length);
  view.setInt32(24, body.length);
  out.set(imei, 28);
  out.set(body, 28 + imei.length);
  return out;
}

/** A server→client frame (spec §2.2 / §2.3): command, then the payload. */
export interface RawServerFrame {
  command: number;
  payload: Uint8Array;
  /** The payload parsed as JSON (undefined when it is not JSON, e.g. Protobuf). */
  json: unknown;
  text: string;
}

function parsePayload(command: number, payload: Uint8Array): RawServerFrame {
  const text = new TextDecoder().decode(payload);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { command, payload, json, text };
}

/** A connected raw client over TCP or WebSocket. */
export class RawClient {
  readonly frames: RawServerFrame[] = [];
  closed = false;
  #waiters: Array<() => void> = [];
  #buffer = new Uint8Array(0);
  #read = 0;

  private constructor(
    readonly kind: "tcp" | "ws",
    private readonly socket: Socket | undefined,
    private readonly ws: WebSocket | undefined,
  ) {}

  static async tcp(port: number): Promise<RawClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new RawClient("tcp", socket, undefined);
    socket.on("data", (chunk: Buffer) => client.#onTcpData(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => client.#onClose());
    return client;
  }

  static async ws(port: number, path = "/ws"): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const client = new RawClient("ws", undefined, ws);
    ws.on("message", (data: Buffer) => {
      // One server frame per WebSocket message (spec §2.3).
      const view = new DataView(data.buffer, data.byteOffset, data.length);
      client.#push(parsePayload(view.getInt32(0), data.subarray(8, 8 + view.getInt32(4))));
    });
    ws.on("error", () => undefined);
    ws.on("close", () => client.#onClose());
    return client;
  }

  static connect(kind: "tcp" | "ws", port: number): Promise<RawClient> {
    return kind === "tcp" ? RawClient.tcp(port) : RawClient.ws(port);
  }

  #onTcpData(chunk: Buffer): void {
    const merged = new Uint8Array(this.#buffer.length + chunk.length);
    merged.set(this.#buffer);
    merged.set(chunk, this.#buffer.length);
    let offset = 0;
    while (merged.length - offset >= 8) {
      const view = new DataView(merged.buffer, merged.byteOffset + offset);
      const length = view.getInt32(4);
      if (merged.length - offset < 8 + length) break;
      this.#push(parsePayload(view.getInt32(0), merged.slice(offset + 8, offset + 8 + length)));
      offset += 8 + length;
    }
    this.#buffer = merged.slice(offset);
  }

  #push(frame: RawServerFrame): void {
    this.frames.push(frame);
    this.#wake();
  }

  #onClose(): void {
    this.closed = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`raw ${this.kind} client: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends raw bytes (one WebSocket binary message, or bytes on the TCP stream). */
  sendBytes(bytes: Uint8Array): void {
    if (this.socket !== undefined) this.socket.write(bytes);
    else this.ws?.send(bytes, { binary: true });
  }

  /** Sends one frame. */
  send(fields: RawFrameFields): void {
    this.sendBytes(buildFrame(fields));
  }

  /** Sends a WebSocket text message (ignored by the server, spec §2.3). */
  sendText(text: string): void {
    this.ws?.send(text);
  }

  /** The next frame not yet taken by next(). */
  async next(timeoutMs = 3000): Promise<RawServerFrame> {
    await this.#until(() => this.frames.length > this.#read || this.closed, timeoutMs, "a frame");
    const frame = this.frames[this.#read];
    if (frame === undefined) throw new Error(`raw ${this.kind} client: closed before the next frame`);
    this.#read += 1;
    return frame;
  }

  /** Waits until the server closed the connection. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    await this.#until(() => this.closed, timeoutMs, "the close");
  }

  /** Stops reading from the socket (a slow consumer). */
  pauseReading(): void {
    this.socket?.pause();
    this.ws?.pause();
  }

  close(): void {
    this.socket?.destroy();
    this.ws?.terminate();
  }
}
