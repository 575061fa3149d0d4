import type { ClientFrame, FrameError } from "../../lib/wire/index.js";

/** The two transports of spec §2: raw TCP (19001) and WebSocket binary frames (19002, `/ws`). */
export type TransportKind = "tcp" | "ws";

/**
 * Why a connection ended, catalogued so logs and the `closes_total` metric use stable words.
 * `flush` says whether frames already queued (an error frame, a 9002) are still sent before the
 * socket closes; a slow consumer is cut at once because it will never read them.
 */
export const CloseReasons = {
  "client-closed": { flush: false, text: "the client closed the connection or it failed" },
  logout: { flush: true, text: "LOGOUT 9003" },
  kicked: { flush: true, text: "kicked by a login elsewhere (multi-login, spec §4.3, D24)" },
  replaced: { flush: true, text: "the same device logged in again on another connection" },
  "heartbeat-timeout": { flush: true, text: "silent past gateway.heartbeatTimeoutMs (D3)" },
  "slow-consumer": { flush: false, text: "outbound queue past gateway.sendQueueMaxBytes" },
  "frame-error": { flush: true, text: "a malformed frame; the byte stream is out of step" },
  "login-failed": { flush: true, text: "LOGIN refused" },
  "login-timeout": { flush: true, text: "no successful LOGIN within gateway.loginTimeoutMs of the accept" },
  "server-stopping": { flush: true, text: "the gateway is shutting down" },
  "send-flood": {
    flush: false,
    text: "kept sending past its send rate after refusals (60006), ignoring their retryAfterMs",
  },
} as const;

/** One of the CloseReasons keys. */
export type CloseReason = keyof typeof CloseReasons;

/**
 * One client connection's byte pipe (docs/style.md §9): the session code writes whole server frames and
 * never knows which transport it holds.
 *
 * Contract:
 * - Outbound bytes are bounded: `write` first checks `queuedBytes + frame.length` against the
 *   transport's bound (`gateway.sendQueueMaxBytes`); past it the connection is closed with
 *   `slow-consumer` and the frame dropped (an empty queue always takes one frame, so a frame
 *   larger than the bound cannot wedge a healthy client).
 * - After `close` every write returns false and does nothing; `close` is idempotent and the first
 *   reason wins. The handler's `onClose` runs exactly once, whoever closed.
 * - Reading can be paused (`pauseReading`) so a client that floods frames while earlier ones are
 *   still being handled is held back by TCP flow control instead of growing memory.
 */
export interface Transport {
  readonly kind: TransportKind;
  /** The peer's IP address (the per-IP connection limit counts by it). */
  readonly remoteAddress: string;
  /** The peer as `ip:port` (`[v6]:port`), bound to every log line of the connection. */
  readonly remote: string;
  /** When the TCP connection was accepted (epoch ms); for WebSocket that is before the upgrade. */
  readonly acceptedAtMs: number;
  /** Bytes written but not yet handed to the kernel (TCP `writableLength`, WS `bufferedAmount`). */
  readonly queuedBytes: number;
  /** True once closed or closing. */
  readonly closed: boolean;
  /** Queues one encoded server frame; false when it was not queued (closed, or the bound was hit). */
  write(frame: Uint8Array): boolean;
  /** Queues several frames, stopping at the first that is refused; false when any was refused. */
  writeMany(frames: readonly Uint8Array[]): boolean;
  /** Closes the connection (see CloseReasons for what `flush` means). */
  close(reason: CloseReason): void;
  pauseReading(): void;
  resumeReading(): void;
}

/** What a transport reports to the session layer; one handler per connection. */
export interface TransportHandler {
  /** A complete client frame, in arrival order. */
  onFrame(frame: ClientFrame): void;
  /** A malformed frame (spec §2.1 checks); the transport closes with `frame-error` right after. */
  onFrameError(error: FrameError): void;
  /** The connection ended; runs once. */
  onClose(reason: CloseReason): void;
}

/** Counters a transport reports to (implemented by the gateway metrics). */
export interface TransportObserver {
  bytesIn(kind: TransportKind, bytes: number): void;
  bytesOut(kind: TransportKind, bytes: number): void;
  /**
   * A connection refused at accept or at the WebSocket upgrade: `ip-limit`, `total-limit`
   * (gateway.maxConnectionsPerIp / maxConnections), `bad-path`, `origin` (gateway.allowedOrigins).
   */
  refused(kind: TransportKind, reason: string): void;
  /** A JSON body arrived with NUL padding after it, which the decoder removed (ClientFrame.nulPadding). */
  nulPadded?(kind: TransportKind): void;
}

/** Decides the write bound check shared by both transports. */
export function fitsQueue(queuedBytes: number, frameBytes: number, maxQueuedBytes: number): boolean {
  return queuedBytes === 0 || queuedBytes + frameBytes <= maxQueuedBytes;
}
