/** Public surface of the logging module: one pino root per process, children per role and connection. */
export type { Logger } from "pino";
export { type ConnectionIds, connectionLogger } from "./connection-logger.js";
export {
  createRootLogger,
  type LogSettings,
  prettyInstalled,
  REDACT_PATHS,
  REDACTED,
  wantsPretty,
} from "./create-root-logger.js";
export { roleLogger } from "./role-logger.js";
