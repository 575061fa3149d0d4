import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { NAMED_ENV } from "../../lib/config/env-source.js";
import { type Config, loadConfig } from "../../lib/config/index.js";

/** Repository root and deploy folder. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEPLOY = join(ROOT, "deploy");

/** A loosely typed YAML node, read with the helpers below. */
export type Node = Record<string, unknown>;

export const asNode = (value: unknown): Node =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Node) : {};
export const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Every document of a multi-document YAML file, failing on any parse error. */
export function yamlDocuments(path: string): Node[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return asNode(doc.toJS());
  });
}

/** The subcommands `whaleshark help` lists (so deploy files only run commands that exist). */
export function cliCommands(): Set<string> {
  const run = spawnSync(process.execPath, [join(ROOT, "bin/whaleshark.js"), "help"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`whaleshark help failed: ${run.stderr}`);
  const lines = run.stdout.split("\n");
  const start = lines.indexOf("commands:");
  const commands = new Set<string>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    const first = line.match(/^ {2}(\S.*?)(?: {2,}|$)/)?.[1];
    if (first === undefined) continue;
    for (const name of first.split(" | ")) commands.add(name.split(" ")[0] ?? "");
  }
  return commands;
}

/** Roles and the ports each listens on under `config` (what deploy files must expose). */
export function rolePorts(config: Config, role: string): number[] {
  switch (role) {
    case "gateway":
      return [
        config.gateway.grpcPort,
        config.gateway.tcpPort,
        config.gateway.wsPort,
        config.metrics.gatewayPort,
      ];
    case "domain":
      return [config.domain.port, config.metrics.domainPort];
    case "store":
      return [config.store.port, config.metrics.storePort];
    default:
      return [];
  }
}

/** The gRPC port a role's health service answers on (probes must point at it). */
export function grpcPort(config: Config, role: string): number | undefined {
  return { gateway: config.gateway.grpcPort, domain: config.domain.port, store: config.store.port }[role];
}

/**
 * Loads the configuration a container would see, failing like the process would at start-up.
 * Also rejects WHALESHARK_* names the loader would silently ignore (a misspelt named variable
 * has no `__`, so the loader cannot tell it from another tool's variable).
 */
export function containerConfig(env: Record<string, string>, fileText?: string): Config {
  for (const name of Object.keys(env)) {
    if (!name.startsWith("WHALESHARK_") || name.includes("__") || name === "WHALESHARK_CONFIG") continue;
    if (!(name in NAMED_ENV)) throw new Error(`${name} is not a configuration variable`);
  }
  const cwd = mkdtempSync(join(tmpdir(), "ws-deploy-"));
  let file: string | undefined;
  if (fileText !== undefined) {
    file = join(cwd, "whaleshark.yaml");
    writeFileSync(file, fileText);
  }
  const { WHALESHARK_CONFIG: _ignored, ...rest } = env;
  return loadConfig({ env: rest, cwd, ...(file ? { file } : {}) });
}

/**
 * Docker Compose interpolation of `${VAR}` and `${VAR:-default}` with an empty environment.
 * A variable without a default is an error: `docker compose up` must work with no .env file.
 */
export function interpolate(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (whole, name: string, fallback?: string) => {
    if (fallback === undefined) throw new Error(`${whole}: ${name} has no default`);
    return fallback;
  });
}
