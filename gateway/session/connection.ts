import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import {
  type ClientFrame,
  encodeData,
  encodeProtobufPush,
  encodeServerFrame,
  encodeTcpPush,
  encodeTcpPushText,
  encodeWsPush,
  encodeWsPushWith,
  MessageEncoding,
  NULL_JSON,
  type WsPackTemplate,
  wsPackTemplate,
} from "../../lib/wire/index.js";
import type { CloseReason, Transport, TransportHandler } from "../transport/transport.js";

/** Lifecycle state of a connection (spec §4.2, §4.4). */
export type ConnectionState = "before-login" | "logged-in" | "closed";

/** Frames queued for handling before reading pauses; handling is serial per connection. */
const MAX_PENDING_FRAMES = 32;

/** The WebSocket pack fields of a connection that has not logged in: only clientType 0 (spec §2.3). */
const ANONYMOUS_PACK = wsPackTemplate({ clientType: 0 });

const PROCESS_TAG = randomBytes(4).toString("hex");
let sequence = 0;

/** A gateway-local connection id, unique across restarts of the same node id (random per process). */
export function newConnectionId(): string {
  sequence += 1;
  return `${PROCESS_TAG}-${sequence.toString(36)}`;
}

/** What a connection needs from the gateway. */
export interface ConnectionHooks {
  /** Handles one frame; frames of one connection are handled one at a time, in order. */
  handle(conn: Connection, frame: ClientFrame): Promise<void>;
  /** A malformed frame arrived; the transport closes right after. */
  frameError(conn: Connection, error: Error & { reason: string }): void;
  /** The connection ended (runs once). */
  closed(conn: Connection, reason: CloseReason): void;
  /** Counts an outbound frame. */
  sent(conn: Connection, command: number): void;
}

/**
 * One client connection: its state machine (before-login → logged-in → closed), its bound
 * session, its activity clock for the heartbeat monitor, and the encoding of server frames for
 * its transport and body encoding (spec §2.2 TCP data only, §2.3 WebSocket whole pack, Protobuf
 * payload on both). Frames are handled serially so a device's messages reach the domain in the
 * order it sent them; while more than MAX_PENDING_FRAMES wait, reading pauses.
 */
export class Connection implements TransportHandler {
  readonly id = newConnectionId();
  state: ConnectionState = "before-login";
  /** The session record written at LOGIN (kept current by renewals); undefined before login. */
  session: SessionRecord | undefined;
  /** Body encoding of answers: the login's messageType, or the current frame's before login. */
  encoding: number = MessageEncoding.JSON;
  /** Last time any frame arrived (epoch ms); the heartbeat monitor closes silent connections. */
  lastActivityMs: number;
  log: Logger;
  readonly #pending: ClientFrame[] = [];
  #draining = false;
  #paused = false;
  /** The WebSocket pack template of `#packSession` (rebuilt when the session record changes). */
  #pack: WsPackTemplate = ANONYMOUS_PACK;
  #packSession: SessionRecord | undefined;

  constructor(
    readonly transport: Transport,
    private readonly hooks: ConnectionHooks,
    logger: Logger,
    now: number = Date.now(),
  ) {
    this.lastActivityMs = now;
    this.log = logger.child({ connId: this.id, transport: transport.kind });
  }

  onFrame(frame: ClientFrame): void {
    this.lastActivityMs = Date.now();
    if (this.state === "closed") return;
    this.#pending.push(frame);
    if (this.#pending.length >= MAX_PENDING_FRAMES && !this.#paused) {
      this.#paused = true;
      this.transport.pauseReading();
    }
    if (!this.#draining) void this.#drain();
  }

  onFrameError(error: Error & { reason: string }): void {
    this.hooks.frameError(this, error);
  }

  onClose(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#pending.length = 0;
    this.hooks.closed(this, reason);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let frame = this.#pending.shift(); frame !== undefined; frame = this.#pending.shift()) {
        if (this.state === "closed") break;
        try {
          await this.hooks.handle(this, frame);
        } catch (err) {
          // The handler answers its own errors; this is the last guard so nothing escapes as an
          // unhandled rejection (which would end the process).
          this.log.error({ err, command: frame.command }, "frame handler threw");
        }
        if (this.#paused && this.#pending.length <= MAX_PENDING_FRAMES / 4) {
          this.#paused = false;
          this.transport.resumeReading();
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Closes the connection (idempotent; the first reason wins). */
  close(reason: CloseReason): void {
    this.transport.close(reason);
  }

  /**
   * Writes a gateway answer (LOGIN_ACK, ACKs, error frames) with `data` as a JSON object in this
   * connection's encoding. False when not written (closed, queue bound, unencodable data).
   * `json`, when given, must be `JSON.stringify(data)`: a caller on a per-frame path that writes
   * the text out directly (error-frame.ts) saves the walk over the object.
   */
  sendData(command: number, data: object, json?: string): boolean {
    let frame: Uint8Array;
    try {
      if (this.encoding === MessageEncoding.PROTOBUF) {
        frame = encodeServerFrame(command, encodeData(command, MessageEncoding.PROTOBUF, data));
      } else {
        // The same bytes as encodeData(JSON) spliced in, without encoding the text on its own first.
        const text = json ?? JSON.stringify(data);
        frame =
          this.transport.kind === "tcp"
            ? encodeTcpPushText(command, text)
            : encodeWsPushWith(this.#packTemplate(), command, text);
      }
    } catch (err) {
      // Only data built by the gateway itself reaches here, so this is a bug, not client input.
      this.log.error({ err, command }, "cannot encode an answer frame");
      return false;
    }
    return this.#write(command, frame);
  }

  /**
   * Writes a push whose data arrives serialised (a Delivery's `data_json`). Throws BodyError when a
   * Protobuf connection's payload cannot be built from it; the caller counts and drops it.
   */
  sendPush(command: number, dataJson: Uint8Array): boolean {
    if (command === Command.COMMAND_MUTALOGIN) return this.sendKick();
    const frame =
      this.encoding === MessageEncoding.PROTOBUF
        ? encodeProtobufPush(command, dataJson)
        : this.#jsonFrame(command, dataJson.length === 0 ? NULL_JSON : dataJson);
    return this.#write(command, frame);
  }

  /**
   * Writes MUTALOGIN 9002 in the original's shapes (spec §2.2, §2.3): TCP body `null`, WebSocket
   * `{"clientType":0,"command":9002,"toId":u,"userId":u}`; Protobuf connections get MutaLoginPack.
   */
  sendKick(): boolean {
    const userId = this.session?.userId ?? "";
    const command = Command.COMMAND_MUTALOGIN;
    const pack = { clientType: 0, command, toId: userId, userId };
    let frame: Uint8Array;
    if (this.encoding === MessageEncoding.PROTOBUF) {
      frame = encodeServerFrame(command, encodeData(command, MessageEncoding.PROTOBUF, pack));
    } else if (this.transport.kind === "tcp") {
      frame = encodeTcpPush(command, NULL_JSON);
    } else {
      frame = encodeWsPush(pack, undefined);
    }
    return this.#write(command, frame);
  }

  /** A JSON-connection frame: data only over TCP, the whole MessagePack over WebSocket. */
  #jsonFrame(command: number, dataJson: Uint8Array): Uint8Array {
    if (this.transport.kind === "tcp") return encodeTcpPush(command, dataJson);
    return encodeWsPushWith(this.#packTemplate(), command, dataJson);
  }

  /**
   * The WebSocket pack fields around `command` and `data` for this connection's login (appId,
   * clientType, imei, toId), built once per session record instead of once per frame.
   */
  #packTemplate(): WsPackTemplate {
    const s = this.session;
    if (s !== this.#packSession) {
      // Throws (RangeError) on a non-finite appId or clientType, as encodeWsPush does; the cache is
      // only updated once the template is built.
      this.#pack =
        s === undefined
          ? ANONYMOUS_PACK
          : wsPackTemplate({ appId: s.appId, clientType: s.clientType, imei: s.imei, toId: s.userId });
      this.#packSession = s;
    }
    return this.#pack;
  }

  #write(command: number, frame: Uint8Array): boolean {
    const written = this.transport.write(frame);
    if (written) this.hooks.sent(this, command);
    return written;
  }
}
