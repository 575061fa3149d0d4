import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ErrorCatalogue, type ErrorName, GrpcStatus, ImError, isImError } from "../errors/index.js";

/**
 * Translation of application errors into gRPC statuses: the gRPC edge of the
 * error catalogue (common.proto §3, docs/style.md §10: errors are translated only at
 * the edges).
 *
 * - An {@link ImError} becomes its catalogue gRPC status, its message as the
 *   status details, and the trailer `whaleshark-code` with its number.
 * - Anything else becomes INTERNAL with 90000 SYSTEM_ERROR and the catalogue
 *   text only: an unexpected error's own message (SQL, hosts, stack details)
 *   is for logs, never for clients.
 */

/** Name of the trailing metadata key that carries the ErrorCode number. */
export const CODE_TRAILER = "whaleshark-code";

const IM_STATUS = Symbol.for("whaleshark.ImErrorStatus");

/**
 * An ImError with another gRPC status than its catalogue entry. Used where one
 * code means two things on the wire: 60005 is UNAUTHENTICATED when the
 * userSign names another user, but PERMISSION_DENIED when a correctly signed
 * caller acts for someone else (common.proto §2).
 */
export function withStatus(error: ImError, grpcStatus: GrpcStatus): ImError {
  Object.defineProperty(error, IM_STATUS, { value: grpcStatus, enumerable: false });
  return error;
}

/** Shorthand: an ImError of `name` that crosses gRPC as PERMISSION_DENIED. */
export function permissionDenied(name: ErrorName, detail?: string): ImError {
  return withStatus(ImError.of(name, detail), GrpcStatus.PERMISSION_DENIED);
}

/** The gRPC status an ImError crosses the wire with. */
export function grpcStatusOf(error: ImError): GrpcStatus {
  const override = (error as unknown as { [IM_STATUS]?: GrpcStatus })[IM_STATUS];
  return override ?? error.grpcStatus;
}

/**
 * The `ServiceError` to hand a grpc-js callback for any thrown value. The
 * result's `code` is a gRPC status, `details` a client-safe text and
 * `metadata` the trailers, including `whaleshark-code`.
 */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: status } {
  const metadata = new Metadata();
  if (isImError(error)) {
    metadata.set(CODE_TRAILER, String(error.code));
    const code = grpcStatusOf(error) as number as status;
    return { code, details: error.message, metadata, message: error.message, name: error.name };
  }
  const spec = ErrorCatalogue.SYSTEM_ERROR;
  metadata.set(CODE_TRAILER, String(spec.code));
  return {
    code: status.INTERNAL,
    details: spec.message,
    metadata,
    message: spec.message,
    name: "SYSTEM_ERROR",
  };
}

/**
 * The ErrorCode number a failed call carried (trailer `whaleshark-code`), for
 * clients and tests; undefined when the trailer is absent.
 */
export function errorCodeOf(error: { metadata?: Metadata }): number | undefined {
  const value = error.metadata?.get(CODE_TRAILER)[0];
  if (value === undefined) return undefined;
  const code = Number(typeof value === "string" ? value : value.toString("utf8"));
  return Number.isInteger(code) ? code : undefined;
}
