/**
 * gRPC status codes by name, with their standard numbers (grpc/grpc doc/statuscodes.md).
 * Kept here instead of importing @grpc/grpc-js so the catalogue stays browser-safe for the sdk.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the numeric gRPC status codes. */
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];
