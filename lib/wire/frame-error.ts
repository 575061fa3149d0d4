/**
 * Why a frame could not be read. Framing errors leave the byte stream out of step (or the input is
 * hostile), so the connection must be closed; the reason is what gets logged and counted.
 */
export const FrameErrorReasons = {
  "negative-length": "imeiLength, bodyLength or a server frame length is below zero",
  "frame-too-large": "the declared lengths exceed the configured maximum frame size",
  "imei-too-long": "imeiLength exceeds MAX_IMEI_BYTES",
  "bad-imei": "the imei bytes are not valid UTF-8",
  truncated: "a WebSocket message is shorter than its header or its declared lengths",
  "trailing-bytes": "a WebSocket message is longer than its declared lengths",
  "decoder-failed": "the streaming decoder was used again after it had failed",
} as const;

/** A catalogued framing failure reason (keys of FrameErrorReasons). */
export type FrameErrorReason = keyof typeof FrameErrorReasons;

/**
 * A frame that cannot be decoded. Thrown by the client and server frame decoders; the only error
 * they ever throw. The caller closes the connection and logs `reason` (spec §2.1, D20: a bad frame
 * must not crash the process or grow a buffer).
 */
export class FrameError extends Error {
  override readonly name = "FrameError";
  /** Catalogued reason, stable for logs and metrics labels. */
  readonly reason: FrameErrorReason;

  constructor(reason: FrameErrorReason, detail?: string) {
    super(detail === undefined ? FrameErrorReasons[reason] : `${FrameErrorReasons[reason]}: ${detail}`);
    this.reason = reason;
  }
}

/** True when `error` is a FrameError. */
export function isFrameError(error: unknown): error is FrameError {
  return error instanceof FrameError;
}
