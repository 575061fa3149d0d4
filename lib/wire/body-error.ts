/**
 * Why a frame body could not be read or written. Unlike a FrameError, the frame itself was well
 * delimited, so the connection stays in step: the gateway answers with an error frame and may keep
 * the connection (spec §2.1 rules; the original closed it on a non-object body, D21).
 */
export const BodyErrorReasons = {
  "invalid-json": "the body is not valid UTF-8 JSON",
  "not-json-object": "the JSON body is an array, a scalar or null-like, not an object",
  "invalid-protobuf": "the body is not a valid Protobuf encoding of the command's payload",
  "unsupported-encoding": "messageType is neither 0 (JSON) nor 1 (Protobuf)",
  "unknown-command": "the command has no payload type, so a Protobuf body cannot be read or written",
} as const;

/** A catalogued body failure reason (keys of BodyErrorReasons). */
export type BodyErrorReason = keyof typeof BodyErrorReasons;

/**
 * A body that cannot be decoded (or data that cannot be encoded) for its command and encoding.
 * Thrown by the helpers of payloads.ts; the only error they throw.
 */
export class BodyError extends Error {
  override readonly name = "BodyError";
  /** Catalogued reason, stable for logs and metrics labels. */
  readonly reason: BodyErrorReason;

  constructor(reason: BodyErrorReason, detail?: string) {
    super(detail === undefined ? BodyErrorReasons[reason] : `${BodyErrorReasons[reason]}: ${detail}`);
    this.reason = reason;
  }
}

/** True when `error` is a BodyError. */
export function isBodyError(error: unknown): error is BodyError {
  return error instanceof BodyError;
}
