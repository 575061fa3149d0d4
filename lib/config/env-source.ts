import { ConfigError } from "./config-error.js";
import { type PlainObject, setPath } from "./deep.js";
import { type LeafKind, leafKinds } from "./schema-keys.js";

/**
 * Environment variables → a partial config object.
 *
 * - Named variables: WHALESHARK_PROFILE, _DATA_DIR, _NODE_ID, _WORKER_ID, _DATABASE_URL, _REDIS_URL,
 *   _AMQP_URL, and WHALESHARK_APPS (a JSON object, e.g. `{"10001":{"privateKey":"..."}}`).
 * - Generic variables: `WHALESHARK_<SECTION>__<KEY>` with both parts in UPPER_SNAKE
 *   (`WHALESHARK_GATEWAY__TCP_PORT` → gateway.tcpPort). An unknown one is an error naming it.
 * - Numbers and booleans are coerced from their text; text that does not parse is passed through so
 *   the schema reports it with the value given.
 * - An empty variable counts as unset (compose files often write `VAR=`).
 */

const PREFIX = "WHALESHARK_";

/** Named variables and the config path each one sets. WHALESHARK_CONFIG (the file path) is not a key. */
export const NAMED_ENV: Readonly<Record<string, string>> = {
  WHALESHARK_PROFILE: "profile",
  WHALESHARK_DATA_DIR: "dataDir",
  WHALESHARK_NODE_ID: "nodeId",
  WHALESHARK_WORKER_ID: "workerId",
  WHALESHARK_APPS: "apps",
  WHALESHARK_DATABASE_URL: "database.url",
  WHALESHARK_REDIS_URL: "redis.url",
  WHALESHARK_AMQP_URL: "amqp.url",
};

const NAMED_BY_PATH = new Map(Object.entries(NAMED_ENV).map(([name, path]) => [path, name]));

/** Leaf kinds by dotted path, read from the schema so coercion never drifts from it. */
const LEAF_KINDS = leafKinds();

/** camelCase → UPPER_SNAKE (`tcpPort` → `TCP_PORT`). */
export function upperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * The variable that sets a config path: the named one if any, else the generic form for a
 * `section.key` path, else "defaults" (nothing in the environment can set it alone).
 */
export function envVarFor(path: readonly PropertyKey[]): string {
  for (let n = path.length; n > 0; n--) {
    const named = NAMED_BY_PATH.get(path.slice(0, n).map(String).join("."));
    if (named !== undefined) return named;
  }
  const [section, key] = path.map(String);
  if (key === undefined || path.length > 2) return "defaults";
  return `${PREFIX}${upperSnake(section ?? "")}__${upperSnake(key)}`;
}

function coerce(kind: LeafKind, raw: string): unknown {
  const text = raw.trim();
  if (kind === "number" && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (kind === "boolean") {
    if (/^(true|1|yes)$/i.test(text)) return true;
    if (/^(false|0|no)$/i.test(text)) return false;
  }
  return raw;
}

/** Generic variable name → path, built from the schema's sections. */
const GENERIC = new Map<string, string>(
  [...LEAF_KINDS.keys()]
    .filter((path) => path.includes("."))
    .map((path) => {
      const [section = "", key = ""] = path.split(".");
      return [`${PREFIX}${upperSnake(section)}__${upperSnake(key)}`, path] as const;
    }),
);

/** What the environment contributes, plus which variable set each path (for error messages). */
export interface EnvSource {
  values: PlainObject;
  /** dotted path → variable name */
  sources: Map<string, string>;
}

/** Reads the WHALESHARK_* variables of `env`; throws ConfigError on an unknown `__` variable or bad JSON. */
export function readEnv(env: NodeJS.ProcessEnv): EnvSource {
  const values: PlainObject = {};
  const sources = new Map<string, string>();
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || raw === undefined || raw === "") continue;
    const path = NAMED_ENV[name] ?? GENERIC.get(name);
    if (path === undefined) {
      if (name.includes("__")) {
        throw new ConfigError(
          `config: ${name}: unknown variable, expected WHALESHARK_<SECTION>__<KEY> of a known key`,
        );
      }
      continue; // e.g. WHALESHARK_CONFIG, or variables read by other tools
    }
    const previous = sources.get(path);
    if (previous !== undefined && env[previous] !== raw) {
      throw new ConfigError(
        `config: ${path} (${previous}, ${name}): both set to different values, expected one`,
      );
    }
    setPath(
      values,
      path.split("."),
      path === "apps" ? parseApps(raw) : coerce(LEAF_KINDS.get(path) ?? "other", raw),
    );
    sources.set(path, name);
  }
  return { values, sources };
}

function parseApps(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // Never echo the text: it holds private keys.
    throw new ConfigError(
      'config: apps (WHALESHARK_APPS): expected a JSON object {"<appId>":{"privateKey":"..."}}, got invalid JSON',
    );
  }
}
