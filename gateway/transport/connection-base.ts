import type { FrameError } from "../../lib/wire/index.js";
import {
  type CloseReason,
  CloseReasons,
  fitsQueue,
  type Transport,
  type TransportHandler,
  type TransportKind,
  type TransportObserver,
} from "./transport.js";
import { type Corkable, TurnBatch } from "./turn-batch.js";

/** How long a flushing close may wait for the peer to take the last frames before the socket is cut. */
export const FLUSH_CLOSE_TIMEOUT_MS = 5000;

/** What a connection needs from its listener's options. */
export interface ConnectionOptions {
  /** `gateway.sendQueueMaxBytes`: the outbound bound of each connection. */
  sendQueueMaxBytes: number;
  observer: TransportObserver;
}

/**
 * The part of the Transport contract (transport.ts) that does not depend on the wire: TCP and
 * WebSocket connections extend it and supply only how bytes are sent, counted as queued, read,
 * and how the socket is closed gently or cut.
 *
 * - `write` refuses after close, applies the queue bound (`fitsQueue`, closing with
 *   `slow-consumer`), counts the bytes out, and batches the frames of one event-loop turn into
 *   one socket write (turn-batch.ts). Bytes held by the batch have not been offered to the peer
 *   yet, so they are flushed before the bound is judged: the bound sees what it saw before.
 * - `close` is idempotent and the first reason wins; a reason with `flush` ends the connection
 *   gently (queued frames still go out) and cuts it after FLUSH_CLOSE_TIMEOUT_MS, the others cut
 *   it at once. The handler's `onClose` runs exactly once, whoever closed.
 */
export abstract class ConnectionBase<O extends ConnectionOptions = ConnectionOptions> implements Transport {
  abstract readonly kind: TransportKind;
  readonly remoteAddress: string;
  readonly remote: string;
  readonly acceptedAtMs: number;
  #closed = false;
  #handler: TransportHandler | undefined;
  readonly #batch: TurnBatch;

  /**
   * @param peer the socket's peer address and when it was accepted (for WebSocket: the TCP accept
   *   before the HTTP upgrade, so the login deadline counts the handshake too)
   */
  protected constructor(
    peer: { remoteAddress: string; remote: string; acceptedAtMs: number },
    socket: Corkable,
    protected readonly options: O,
  ) {
    this.remoteAddress = peer.remoteAddress;
    this.remote = peer.remote;
    this.acceptedAtMs = peer.acceptedAtMs;
    this.#batch = new TurnBatch(socket);
  }

  abstract get queuedBytes(): number;

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts reporting this connection's events to `handler`. */
  attach(handler: TransportHandler): void {
    this.#handler = handler;
    this.listen();
  }

  write(frame: Uint8Array): boolean {
    if (this.#closed) return false;
    const bound = this.options.sendQueueMaxBytes;
    if (!fitsQueue(this.queuedBytes, frame.length, bound)) {
      if (this.#batch.heldBytes > 0) this.#batch.flush();
      if (!fitsQueue(this.queuedBytes, frame.length, bound)) {
        this.close("slow-consumer");
        return false;
      }
    }
    this.#batch.hold();
    this.send(frame);
    this.#batch.held(frame.length);
    this.options.observer.bytesOut(this.kind, frame.length);
    return true;
  }

  writeMany(frames: readonly Uint8Array[]): boolean {
    for (const frame of frames) if (!this.write(frame)) return false;
    return true;
  }

  close(reason: CloseReason): void {
    if (this.#closed) return;
    if (CloseReasons[reason].flush && this.canCloseGently()) {
      this.closeGently(reason);
      // A peer that never reads would keep a half-closed connection forever.
      setTimeout(() => this.cut(), FLUSH_CLOSE_TIMEOUT_MS).unref();
    } else {
      this.cut();
    }
    this.finish(reason);
  }

  pauseReading(): void {
    this.pause();
  }

  resumeReading(): void {
    if (!this.#closed) this.resume();
  }

  /** The handler while the connection is open; undefined before attach and after close. */
  protected get handler(): TransportHandler | undefined {
    return this.#handler;
  }

  /** Reports a malformed frame and closes with `frame-error` (the stream is out of step). */
  protected frameFailed(error: FrameError): void {
    this.#handler?.onFrameError(error);
    this.close("frame-error");
  }

  /** Marks the connection closed and runs `onClose` once, whichever of close() and the socket's end comes first. */
  protected finish(reason: CloseReason): void {
    if (this.#handler === undefined) return;
    this.#closed = true;
    const handler = this.#handler;
    this.#handler = undefined;
    handler.onClose(reason);
  }

  /** Subscribes to the socket's events (called once, by attach). */
  protected abstract listen(): void;
  /** Queues one frame on the socket (the bound was checked). */
  protected abstract send(frame: Uint8Array): void;
  /** Whether a gentle close is possible now (a WebSocket must still be open). */
  protected abstract canCloseGently(): boolean;
  /** Ends the connection after what is queued (TCP FIN, WebSocket close frame). */
  protected abstract closeGently(reason: CloseReason): void;
  /** Drops the connection now, queued frames and all. */
  protected abstract cut(): void;
  protected abstract pause(): void;
  protected abstract resume(): void;
}
