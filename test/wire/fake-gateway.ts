import { createServer, type Server, type Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";
import {
  type ClientFrame,
  ClientFrameDecoder,
  decodeBody,
  decodeClientFrame,
  encodeData,
  encodeServerFrame,
  encodeTcpPush,
  encodeWsPush,
  MessageEncoding,
  NULL_JSON,
} from "../../lib/wire/index.js";

/** What the fake does with a chat message (1103 / 2104): ACK it, stay silent, or refuse it. */
export type AckDecision = "ack" | "drop" | { code: number; msg: string };

/** One frame the fake received, with its decoded body. */
export interface Received {
  conn: FakeConnection;
  frame: ClientFrame;
  data: Record<string, unknown>;
}

/** One client connection to the fake. */
export interface FakeConnection {
  readonly kind: "tcp" | "ws";
  encoding: number;
  userId: string | undefined;
  /** Sends a server frame with `data` in this connection's encoding and transport shape. */
  push(command: number, data: object | null): void;
  /** Drops the connection (no close handshake for TCP). */
  kill(): void;
}

const SIGN_OK = "good-sign";
const MAX = 65_536;

/**
 * A tiny gateway built only from lib/wire, for SDK tests: LOGIN with userSign `good-sign` gets 9001
 * (anything else 9006 60003 and a close), chat messages are ACKed per `ackPolicy` with a
 * messageKey that is stable per messageId (like the real server's dedupe), sync requests (9007 /
 * 9009) are answered by `syncMessages` / `syncConversation`, everything is recorded.
 */
export class FakeGateway {
  readonly received: Received[] = [];
  readonly connections: FakeConnection[] = [];
  /** Decides the answer to each chat frame; default ACK everything. */
  ackPolicy: (data: Record<string, unknown>, attempt: number) => AckDecision = () => "ack";
  /** Announced in LOGIN_ACK. */
  heartbeatIntervalMs = 0;
  /** While true, new connections are closed at once (a gateway that is down). */
  refuseConnections = false;
  /**
   * Answers SYNC_MESSAGES 9007 with the 9008 data to push, or null for silence. Default: nothing
   * stored (an empty, completed page).
   */
  syncMessages: (req: Record<string, unknown>) => object | null = (req) => ({
    completed: true,
    lastMessageKey: Number(req.lastMessageKey ?? 0),
    maxMessageKey: 0,
    messages: [],
  });
  /** Answers SYNC_CONVERSATION 9009 likewise (default: an empty, completed page). */
  syncConversation: (req: Record<string, unknown>) => object | null = (req) => ({
    completed: true,
    conversationType: Number(req.conversationType ?? 0),
    lastSequence: Number(req.lastSequence ?? 0),
    maxSequence: 0,
    messages: [],
    toId: String(req.toId ?? ""),
  });
  readonly #keys = new Map<string, number>();
  readonly #attempts = new Map<string, number>();
  #nextKey = 1_000;

  private constructor(
    private readonly tcp: Server,
    private readonly ws: WebSocketServer,
  ) {}

  static async start(): Promise<FakeGateway> {
    const tcp = createServer();
    const ws = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/ws" });
    const gateway = new FakeGateway(tcp, ws);
    tcp.on("connection", (socket) => gateway.#acceptTcp(socket));
    ws.on("connection", (socket) => gateway.#acceptWs(socket));
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    await new Promise<void>((resolve) => (ws.address() ? resolve() : ws.once("listening", resolve)));
    return gateway;
  }

  get tcpPort(): number {
    return (this.tcp.address() as { port: number }).port;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.ws.address() as { port: number }).port}/ws`;
  }

  /** Frames received with `command`. */
  framesOf(command: number): Received[] {
    return this.received.filter((r) => r.frame.command === command);
  }

  /** Kills every open connection. */
  killAll(): void {
    for (const conn of this.connections.splice(0)) conn.kill();
  }

  async close(): Promise<void> {
    this.killAll();
    await new Promise<void>((resolve) => this.ws.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  #acceptTcp(socket: Socket): void {
    if (this.refuseConnections) return void socket.destroy();
    // Answers often go out back to back (a sync page, then an ACK): no Nagle delay between them.
    socket.setNoDelay(true);
    const decoder = new ClientFrameDecoder({ maxFrameBytes: MAX });
    const conn = this.#connection(
      "tcp",
      (bytes) => socket.write(bytes),
      () => socket.destroy(),
    );
    socket.on("data", (chunk) => {
      for (const frame of decoder.push(chunk)) this.#handle(conn, frame);
    });
    socket.on("error", () => {});
    socket.on("close", () => this.#forget(conn));
  }

  #acceptWs(socket: WebSocket): void {
    if (this.refuseConnections) return void socket.terminate();
    const conn = this.#connection(
      "ws",
      (bytes) => socket.send(bytes),
      () => socket.terminate(),
    );
    socket.on("message", (data: Buffer) => this.#handle(conn, decodeClientFrame(new Uint8Array(data), MAX)));
    socket.on("close", () => this.#forget(conn));
  }

  #connection(kind: "tcp" | "ws", write: (bytes: Uint8Array) => void, kill: () => void): FakeConnection {
    const conn: FakeConnection = {
      kind,
      encoding: MessageEncoding.JSON,
      userId: undefined,
      push: (command, data) => {
        if (conn.encoding === MessageEncoding.PROTOBUF) {
          write(encodeServerFrame(command, encodeData(command, MessageEncoding.PROTOBUF, data ?? {})));
        } else if (kind === "tcp") {
          write(encodeTcpPush(command, data === null ? NULL_JSON : encodeData(command, 0, data)));
        } else {
          const pack = { appId: 10001, clientType: 1, command, imei: "web", toId: conn.userId ?? "" };
          write(encodeWsPush(pack, data === null ? undefined : encodeData(command, 0, data)));
        }
      },
      kill,
    };
    this.connections.push(conn);
    return conn;
  }

  #forget(conn: FakeConnection): void {
    const index = this.connections.indexOf(conn);
    if (index >= 0) this.connections.splice(index, 1);
  }

  #handle(conn: FakeConnection, frame: ClientFrame): void {
    const data = decodeBody(frame.command, frame.messageType, frame.body);
    this.received.push({ conn, frame, data });
    if (frame.command === 9000) {
      conn.encoding = frame.messageType;
      if (data.userSign !== SIGN_OK) {
        conn.push(9006, { code: 60003, data: { command: 9000 }, msg: "用户签名不正确", ok: false });
        setTimeout(() => conn.kill(), 20);
        return;
      }
      conn.userId = String(data.userId);
      conn.push(9001, {
        appId: frame.appId,
        clientType: frame.clientType,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        imei: frame.imei,
        serverTime: Date.now(),
        userId: conn.userId,
      });
    } else if (frame.command === 1103 || frame.command === 2104) {
      this.#chat(conn, frame.command === 1103 ? 1046 : 2047, data);
    } else if (frame.command === 9007 || frame.command === 9009) {
      const answer = frame.command === 9007 ? this.syncMessages(data) : this.syncConversation(data);
      if (answer !== null) conn.push(frame.command + 1, answer);
    }
  }

  #chat(conn: FakeConnection, ackCommand: number, data: Record<string, unknown>): void {
    const messageId = String(data.messageId);
    const attempt = (this.#attempts.get(messageId) ?? 0) + 1;
    this.#attempts.set(messageId, attempt);
    const decision = this.ackPolicy(data, attempt);
    if (decision === "drop") return;
    if (decision !== "ack") {
      conn.push(ackCommand, { code: decision.code, data: { messageId }, msg: decision.msg, ok: false });
      return;
    }
    let key = this.#keys.get(messageId);
    if (key === undefined) {
      key = this.#nextKey++;
      this.#keys.set(messageId, key);
    }
    const ackData = { messageId, messageKey: key, messageSequence: key - 999 };
    conn.push(ackCommand, { code: 200, data: ackData, msg: "success", ok: true });
  }
}

/** Waits until a condition holds (the one `eventually` of the test harness). */
export { eventually as until } from "../support/harness/eventually.js";
export { SIGN_OK };
