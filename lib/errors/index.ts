/**
 * Public surface of the error catalogue. Browser-safe on purpose: no Node built-ins, no generated
 * code, no gRPC library, so the sdk can share it.
 */
export {
  CODE_RANGES,
  ERROR_NAMES,
  ErrorCatalogue,
  type ErrorName,
  type ErrorSpec,
  errorNameOf,
} from "./catalogue.js";
export { GrpcStatus } from "./grpc-status.js";
export { ImError, type ImErrorOptions, isImError } from "./im-error.js";
export { fail, ok, type ResponseVo } from "./response-vo.js";
