import { createRequire } from "node:module";
import { hostname } from "node:os";
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";

/** The logging part of the config (`config.log`). */
export interface LogSettings {
  level: LevelWithSilent;
  /**
   * Human-readable output through pino-pretty (a dev dependency). Unset: pretty when stdout is a
   * terminal, JSON lines otherwise (pino's convention). JSON whenever pino-pretty is not installed.
   */
  pretty?: boolean | undefined;
}

/** The text every redacted value is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Paths whose values never reach a log line (docs/architecture.md §6, docs/style.md §12): userSign tokens,
 * private keys, passwords (spec D27), authorization headers and URLs (connection strings may hold passwords).
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
 * @param isTerminal whether stdout is a terminal (tests); decides `pretty` when it is unset
 */
export function createRootLogger(
  settings: LogSettings,
  base?: object,
  destination?: DestinationStream,
  isTerminal: boolean = process.stdout.isTTY === true,
): Logger {
  const options = {
    level: settings.level,
    base: { pid: process.pid, hostname: hostname(), ...base },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination !== undefined) return pino(options, destination);
  if (wantsPretty(settings, isTerminal) && prettyInstalled()) {
    // One line per record, local clock time, without the pid and host a terminal user knows.
    const pretty = { singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" };
    return pino({ ...options, transport: { target: "pino-pretty", options: pretty } });
  }
  return pino(options);
}

/** Whether `settings` asks for pretty lines: explicitly, or by default on a terminal. */
export function wantsPretty(settings: LogSettings, isTerminal: boolean): boolean {
  return settings.pretty ?? isTerminal;
}

/**
 * Whether pino-pretty can be loaded: it is a dev dependency, absent from a production install
 * (the Docker image), where asking for it would fail at start instead of logging JSON.
 */
export function prettyInstalled(
  resolve: (id: string) => string = createRequire(import.meta.url).resolve,
): boolean {
  try {
    resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}
