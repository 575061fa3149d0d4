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

/** Frames read and not yet started past which reading pauses (resumes at a quarter of it). */
const MAX_PENDING_FRAMES = 32;

/** Sends (1103 / 2104) of one connection in flight at once unless configured (`gateway.maxInFlightSends`). */
export const DEFAULT_MAX_IN_FLIGHT_SENDS = 256;

/** Other frames (PING, receipts, sync, recall) of one connection in flight at once. */
const MAX_IN_FLIGHT_OTHERS = 32;

/**
 * How a frame is scheduled on its connection:
 * - `barrier` (LOGIN, LOGOUT, anything before login): starts once everything before it has
 *   finished, and nothing after it starts before it has finished;
 * - `send` (1103, 2104): starts at once while fewer than the send bound are in flight; the
 *   conversation order of sends is kept further on (the gateway's send batches, the domain's
 *   arrival order), not by waiting here;
 * - `other`: starts at once, never behind in-flight sends.
 */
export type FrameLane = "barrier" | "send" | "other";

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
  /** Handles one frame; frames start in arrival order, several at once as their lanes allow. */
  handle(conn: Connection, frame: ClientFrame): Promise<void>;
  /** The frame's lane (absent: every frame is a barrier, i.e. frames are handled one at a time). */
  lane?(conn: Connection, frame: ClientFrame): FrameLane;
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
 * payload on both).
 *
 * Frames are pipelined (see {@link FrameLane}): they start in the order they arrived, many sends
 * may be in flight at once (bounded by `maxInFlightSends`), and PING, receipts and sync never wait
 * behind sends. A send that finds the bound reached waits, and so does every frame after it; once
 * MAX_PENDING_FRAMES frames wait, the connection stops reading its socket (backpressure: a client
 * that sends faster than it is answered is slowed, never buffered without limit).
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
  #head = 0;
  #paused = false;
  #sendsInFlight = 0;
  #othersInFlight = 0;
  #barrierRunning = false;
  readonly #maxInFlightSends: number;
  /** The WebSocket pack template of `#packSession` (rebuilt when the session record changes). */
  #pack: WsPackTemplate = ANONYMOUS_PACK;
  #packSession: SessionRecord | undefined;
  /** Closes the connection if it has not logged in by its login deadline; cleared at close. */
  #loginTimer: NodeJS.Timeout | undefined;

  /**
   * @param now when the connection began (its TCP accept): the start of its activity clock and of
   *   its login deadline
   * @param loginTimeoutMs `gateway.loginTimeoutMs`: a connection still before login this long after
   *   `now` is closed with `login-timeout`, whatever frames it sent (a PING before login does not
   *   extend it, so a socket cannot stay anonymous by trickling frames); 0 = no deadline
   */
  constructor(
    readonly transport: Transport,
    private readonly hooks: ConnectionHooks,
    logger: Logger,
    now: number = Date.now(),
    maxInFlightSends: number = DEFAULT_MAX_IN_FLIGHT_SENDS,
    loginTimeoutMs = 0,
  ) {
    this.lastActivityMs = now;
    this.#maxInFlightSends = maxInFlightSends;
    this.log = logger.child({ connId: this.id, transport: transport.kind });
    if (loginTimeoutMs > 0) {
      const left = Math.max(0, now + loginTimeoutMs - Date.now());
      this.#loginTimer = setTimeout(() => this.#loginDeadline(loginTimeoutMs), left);
      this.#loginTimer.unref();
    }
  }

  #loginDeadline(loginTimeoutMs: number): void {
    this.#loginTimer = undefined;
    if (this.state !== "before-login") return;
    this.log.debug({ loginTimeoutMs }, "no login within the deadline, closing");
    this.close("login-timeout");
  }

  onFrame(frame: ClientFrame): void {
    this.lastActivityMs = Date.now();
    if (this.state === "closed") return;
    this.#pending.push(frame);
    this.#pump();
  }

  onFrameError(error: Error & { reason: string }): void {
    this.hooks.frameError(this, error);
  }

  onClose(reason: CloseReason): void {
    clearTimeout(this.#loginTimer);
    if (this.state === "closed") return;
    this.state = "closed";
    this.#pending.length = 0;
    this.#head = 0;
    this.hooks.closed(this, reason);
  }

  /** Frames started and not finished (tests, metrics). */
  get inFlight(): number {
    return this.#sendsInFlight + this.#othersInFlight + (this.#barrierRunning ? 1 : 0);
  }

  /** Starts every waiting frame its lane lets start now, in arrival order; pauses or resumes reading. */
  #pump(): void {
    while (this.#head < this.#pending.length && !this.#barrierRunning && this.state !== "closed") {
      const frame = this.#pending[this.#head] as ClientFrame;
      const lane = this.hooks.lane?.(this, frame) ?? "barrier";
      if (lane === "barrier") {
        if (this.#sendsInFlight + this.#othersInFlight > 0) break; // starts when they have finished
        this.#barrierRunning = true;
      } else if (lane === "send") {
        if (this.#sendsInFlight >= this.#maxInFlightSends) break;
        this.#sendsInFlight += 1;
      } else {
        if (this.#othersInFlight >= MAX_IN_FLIGHT_OTHERS) break;
        this.#othersInFlight += 1;
      }
      this.#head += 1;
      this.#start(frame, lane);
    }
    if (this.#head === this.#pending.length) {
      this.#pending.length = 0;
      this.#head = 0;
    } else if (this.#head > MAX_PENDING_FRAMES) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
    const waiting = this.#pending.length - this.#head;
    if (!this.#paused && waiting >= MAX_PENDING_FRAMES) {
      this.#paused = true;
      this.transport.pauseReading();
    } else if (this.#paused && waiting <= MAX_PENDING_FRAMES / 4) {
      this.#paused = false;
      this.transport.resumeReading();
    }
  }

  #start(frame: ClientFrame, lane: FrameLane): void {
    let handled: Promise<void>;
    try {
      handled = this.hooks.handle(this, frame);
    } catch (err) {
      handled = Promise.reject(err);
    }
    handled
      .catch((err: unknown) => {
        // The handler answers its own errors; this is the last guard so nothing escapes as an
        // unhandled rejection (which would end the process).
        this.log.error({ err, command: frame.command }, "frame handler threw");
      })
      .finally(() => {
        if (lane === "barrier") this.#barrierRunning = false;
        else if (lane === "send") this.#sendsInFlight -= 1;
        else this.#othersInFlight -= 1;
        this.#pump();
      });
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
