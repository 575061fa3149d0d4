import type { CloseReason, Transport, TransportKind } from "./transport.js";

/** A transport that records the frames written to it, its close reason and pause state (tests). */
export class RecordingTransport implements Transport {
  readonly written: Uint8Array[] = [];
  paused = false;
  closedWith: CloseReason | undefined;
  queuedBytes = 0;
  remoteAddress = "127.0.0.1";
  remote = "127.0.0.1:50000";
  acceptedAtMs = Date.now();
  constructor(readonly kind: TransportKind) {}
  get closed() {
    return this.closedWith !== undefined;
  }
  write(frame: Uint8Array) {
    this.written.push(frame);
    return true;
  }
  writeMany(frames: readonly Uint8Array[]) {
    for (const f of frames) this.write(f);
    return true;
  }
  close(reason: CloseReason) {
    this.closedWith ??= reason;
  }
  pauseReading() {
    this.paused = true;
  }
  resumeReading() {
    this.paused = false;
  }
}
