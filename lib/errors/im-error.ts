import { ErrorCatalogue, type ErrorName } from "./catalogue.js";
import type { GrpcStatus } from "./grpc-status.js";

/** Marks ImError instances across copies of this module (e.g. bundled twice), unlike instanceof. */
const IM_ERROR = Symbol.for("whaleshark.ImError");

/** Extra parts of an {@link ImError}. */
export interface ImErrorOptions {
  /**
   * Appended to the catalogue message after ": ". It is shown to clients (ResponseVO msg, gRPC
   * details, gateway ACK), so it must never hold secrets, tokens or internal error text.
   */
  detail?: string;
  /** The underlying failure, for logs only. */
  cause?: unknown;
  /** Structured payload returned with the error (ResponseVO `data`). */
  data?: unknown;
}

/**
 * The one application error (docs/style.md §10): a catalogue entry plus an optional detail, cause and data.
 * Services throw it; the edges translate it (gRPC status, ResponseVO, gateway ACK) and nothing else.
 * `name` is the catalogue name, so a stack trace starts with e.g. "USER_IS_NOT_EXIST: 用户不存在".
 */
export class ImError extends Error {
  override readonly name: ErrorName;
  /** WhaleShark/original code (spec §10.1). */
  readonly code: number;
  /** gRPC status for this code. */
  readonly grpcStatus: GrpcStatus;
  /** The detail given at construction, if any (already part of `message`). */
  readonly detail: string | undefined;
  /** Structured payload for the client, if any. */
  readonly data: unknown;
  readonly [IM_ERROR] = true;

  constructor(name: ErrorName, options: ImErrorOptions = {}) {
    const spec = ErrorCatalogue[name];
    const { detail, cause, data } = options;
    super(detail ? `${spec.message}: ${detail}` : spec.message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.code = spec.code;
    this.grpcStatus = spec.grpc;
    this.detail = detail;
    this.data = data;
  }

  /** Shorthand: `throw ImError.of("GROUP_IS_NOT_EXIST", groupId)`. */
  static of(name: ErrorName, detail?: string, options: Omit<ImErrorOptions, "detail"> = {}): ImError {
    return new ImError(name, { ...options, detail });
  }
}

/** True for an ImError, also one created by another copy of this module. */
export function isImError(value: unknown): value is ImError {
  return (
    typeof value === "object" && value !== null && (value as { [IM_ERROR]?: unknown })[IM_ERROR] === true
  );
}
