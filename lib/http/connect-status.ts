import { status } from "@grpc/grpc-js";

/**
 * gRPC status → the Connect protocol's error code name and HTTP status (connectrpc.com/docs/protocol,
 * "Error Codes"), for the Connect-shaped routes of the HTTP API.
 */
const CONNECT: Record<number, [string, number]> = {
  [status.CANCELLED]: ["canceled", 499],
  [status.UNKNOWN]: ["unknown", 500],
  [status.INVALID_ARGUMENT]: ["invalid_argument", 400],
  [status.DEADLINE_EXCEEDED]: ["deadline_exceeded", 504],
  [status.NOT_FOUND]: ["not_found", 404],
  [status.ALREADY_EXISTS]: ["already_exists", 409],
  [status.PERMISSION_DENIED]: ["permission_denied", 403],
  [status.RESOURCE_EXHAUSTED]: ["resource_exhausted", 429],
  [status.FAILED_PRECONDITION]: ["failed_precondition", 400],
  [status.ABORTED]: ["aborted", 409],
  [status.OUT_OF_RANGE]: ["out_of_range", 400],
  [status.UNIMPLEMENTED]: ["unimplemented", 501],
  [status.INTERNAL]: ["internal", 500],
  [status.UNAVAILABLE]: ["unavailable", 503],
  [status.DATA_LOSS]: ["data_loss", 500],
  [status.UNAUTHENTICATED]: ["unauthenticated", 401],
};

/** The Connect code name and HTTP status of a gRPC status (unknown ones: `unknown`, 500). */
export function connectStatusOf(grpcStatus: number): { code: string; httpStatus: number } {
  const [code, httpStatus] = CONNECT[grpcStatus] ?? ["unknown", 500];
  return { code, httpStatus };
}
