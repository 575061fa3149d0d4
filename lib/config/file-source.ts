import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { ConfigError } from "./config-error.js";
import { isPlainObject, type PlainObject } from "./deep.js";

/** The file name looked for in the working directory when no path is given. */
export const DEFAULT_CONFIG_FILE = "whaleshark.yaml";

/** A config file that was found and parsed. */
export interface FileSource {
  /** the path as given (used to label error messages) */
  path: string;
  values: PlainObject;
}

/**
 * Picks the config file: `file` if given, else `WHALESHARK_CONFIG`, else `whaleshark.yaml` in `cwd`
 * when it exists. Returns undefined when there is none. An explicitly named file that is missing is
 * an error (a typo there must not fall back to defaults).
 */
export function resolveConfigFile(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { path: string; via: string } | undefined {
  if (file !== undefined) return { path: file, via: "file option" };
  const fromEnv = env.WHALESHARK_CONFIG;
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, via: "WHALESHARK_CONFIG" };
  const local = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(local) ? { path: local, via: "working directory" } : undefined;
}

/**
 * Reads a YAML or JSON file (YAML 1.2 parses JSON too) into a plain object. An empty file is `{}`;
 * keys whose value is null are left out.
 * @throws ConfigError when the file cannot be read, does not parse, or is not a mapping
 */
export function readConfigFile(path: string, via: string, cwd: string): FileSource {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(
      `config: file ${JSON.stringify(path)} (${via}): expected a readable file, got ${code}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = parse(text, { prettyErrors: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : "parse error";
    throw new ConfigError(
      `config: file ${JSON.stringify(path)} (${via}): expected YAML or JSON, got ${reason}`,
    );
  }
  if (parsed === null || parsed === undefined) return { path, values: {} };
  if (!isPlainObject(parsed)) {
    throw new ConfigError(
      `config: file ${JSON.stringify(path)} (${via}): expected a mapping of sections, got ${Array.isArray(parsed) ? "a list" : typeof parsed}`,
    );
  }
  return { path, values: dropNulls(parsed) };
}

/**
 * A key written without a value (`database:` with everything below commented out) parses as null;
 * it means "not set here", so the defaults apply instead of a type error.
 */
function dropNulls(object: PlainObject): PlainObject {
  const out: PlainObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === null) continue;
    out[key] = isPlainObject(value) ? dropNulls(value) : value;
  }
  return out;
}
