import { hostname } from "node:os";
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

/** The logging part of the config (`config.log`). */
export interface LogSettings {
  level: LevelWithSilent;
  /** Human-readable output through pino-pretty (a dev dependency; for local runs only). */
  pretty: boolean;
}

/** The text every redacted value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Paths whose values never reach a log line (DESIGN §6, STYLE 12): userSign tokens, private keys,
 * passwords (spec D27), authorization headers and URLs (connection strings may hold passwords).
 * Pino paths match one level of nesting per `*`, so top-level and one-level-nested forms are listed.
 */
export const REDACT_PATHS: readonly string[] = [
  "userSign",
  "usersign",
  "*.userSign",
  "*.usersign",
  "privateKey",
  "*.privateKey",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "url",
  "*.url",
];

/**
 * Creates the one root logger of a process; the composition root makes it and passes children down.
 * Base fields are `pid`, `hostname` and whatever `base` adds (e.g. `{ node: config.nodeId }`).
 * @param settings level and pretty flag from `config.log`
 * @param base fields bound to every line
 * @param destination where lines go (tests pass a memory stream); default stdout. When given,
 *   `pretty` is ignored because pino-pretty runs as its own transport to stdout.
 */
export function createRootLogger(
  settings: LogSettings,
  base?: object,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: settings.level,
    base: { pid: process.pid, hostname: hostname(), ...base },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination !== undefined) return pino(options, destination);
  if (settings.pretty) return pino({ ...options, transport: { target: "pino-pretty" } });
  return pino(options);
}
