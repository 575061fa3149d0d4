import { hostname } from "node:os";
import type { z } from "zod";
import { ConfigError, describeValue } from "./config-error.js";
import { type DeepPartial, deepFreeze, deepMerge, getPath, type PlainObject } from "./deep.js";
import { envVarFor, readEnv } from "./env-source.js";
import { readConfigFile, resolveConfigFile } from "./file-source.js";
import { type Config, configSchema, NEEDS, type Need, requirementIssues } from "./schema.js";
import { knownKeys } from "./schema-keys.js";

/** Options of {@link loadConfig}; all optional, so `loadConfig()` reads the real process. */
export interface LoadConfigOptions {
  /** Config file (YAML or JSON). Default: `WHALESHARK_CONFIG`, else `whaleshark.yaml` in `cwd` if present. */
  file?: string;
  /** Environment to read. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Values applied last, over every other source (composition roots and tests). */
  overrides?: DeepPartial<Config>;
  /** Directory where relative file paths resolve and `whaleshark.yaml` is looked for. Default: `process.cwd()`. */
  cwd?: string;
  /**
   * What the command uses, each required only if listed: at least one app, and in the distributed
   * profile the database, Redis and AMQP URLs. Default: all of them (the roles). `whaleshark
   * migrate` passes `["database"]`.
   */
  needs?: readonly Need[];
}

/** Keys replaced whole when sources are layered (see deepMerge). */
const ATOMIC = new Set(["apps"]);

/**
 * Defaults that depend on the profile. Only embedded has a demo app: the original's key, so the
 * original's tokens verify (spec §6.2), with one admin, `admin`. Distributed has none on purpose: starting a real cluster
 * with a published key would let anyone sign in.
 */
function profileDefaults(profile: unknown): PlainObject {
  const common = { nodeId: `${hostname().replace(/[^A-Za-z0-9._-]/g, "-")}-${process.pid}` };
  if (profile === "distributed") return common;
  // `admin` is the demo app's documented administrator (README): the console's demo login and the
  // demo seeding act as it, and `whaleshark user add` signs as it.
  return { ...common, apps: { "10001": { privateKey: "bantanger", adminIds: ["admin"] } } };
}

/**
 * Loads the configuration once at start-up. Sources, later wins: schema defaults → profile
 * defaults → file → environment → `overrides`. The result is validated against the strict schema
 * and deeply frozen.
 * @throws ConfigError with a one-line message naming the first bad key, where it came from, what
 *   was expected and what was given
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const located = resolveConfigFile(opts.file, env, cwd);
  const file = located === undefined ? undefined : readConfigFile(located.path, located.via, cwd);
  const fromEnv = readEnv(env);
  const overrides = (opts.overrides ?? {}) as PlainObject;

  let layered = deepMerge(file?.values ?? {}, fromEnv.values, ATOMIC);
  layered = deepMerge(layered, overrides, ATOMIC);
  const merged = deepMerge(profileDefaults(layered.profile), layered, ATOMIC);

  // reportInput puts the offending value on each issue, including values that came from defaults.
  const result = configSchema.safeParse(merged, { reportInput: true });
  const issues: z.core.$ZodIssue[] = result.success
    ? requirementIssues(result.data, opts.needs ?? NEEDS).map(
        (r) => ({ code: "custom", ...r }) as unknown as z.core.$ZodIssue,
      )
    : result.error.issues;
  if (issues.length > 0) {
    const problems = issues.map((issue) => {
      const label = (path: readonly PropertyKey[]): string => {
        const dotted = path.map(String).join(".");
        for (let n = path.length; n > 0; n--) {
          const source = fromEnv.sources.get(path.slice(0, n).map(String).join("."));
          if (source !== undefined) return source;
        }
        if (getPath(overrides, path) !== undefined) return "overrides";
        if (file !== undefined && getPath(file.values, path) !== undefined) return file.path;
        return dotted === "" ? (file?.path ?? "config") : envVarFor(path);
      };
      return formatIssue(issue, merged, label);
    });
    throw new ConfigError(problems[0] ?? "config: invalid configuration", problems);
  }
  return deepFreeze(result.data as PlainObject) as Config;
}

/** One zod issue → `config: key (source): expected ..., got ...`. */
function formatIssue(
  issue: z.core.$ZodIssue,
  input: PlainObject,
  label: (path: readonly PropertyKey[]) => string,
): string {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    const key = issue.keys[0] ?? "";
    const full = [...path, key];
    const allowed = known.length > 0 ? `one of ${known.join(", ")}` : "no such key";
    return `config: ${full.join(".")} (${label(full)}): unknown key, expected ${allowed}`;
  }
  if (issue.code === "invalid_key") {
    const inner = issue.issues[0]?.message ?? "a valid key";
    return `config: ${path.join(".")} (${label(path)}): invalid key, expected ${inner}, got ${JSON.stringify(String(path[path.length - 1]))}`;
  }
  const name = path.length === 0 ? "(root)" : path.join(".");
  // A refinement on the root reports the whole config as its input; never print that.
  const given = issue.input !== undefined && issue.input !== input ? issue.input : getPath(input, path);
  return `config: ${name} (${label(path)}): expected ${issue.message}, got ${describeValue(path, given)}`;
}
