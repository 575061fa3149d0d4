import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
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

/**
 * `docker compose -f base -f override` merging, for the keys the deploy files use: mappings merge
 * key by key, `command`, `entrypoint` and a healthcheck's `test` are replaced, other sequences
 * (ports, volumes) are appended without duplicates. (Compose's own rules, narrowed to what is here.)
 */
export function composeMerge(base: unknown, override: unknown, key = ""): unknown {
  if (override === undefined) return base;
  if (Array.isArray(override)) {
    if (["command", "entrypoint", "test"].includes(key) || !Array.isArray(base)) return override;
    return [...base, ...override.filter((v) => !base.some((b) => JSON.stringify(b) === JSON.stringify(v)))];
  }
  if (typeof override === "object" && override !== null) {
    const out: Node = { ...asNode(base) };
    for (const [k, v] of Object.entries(override)) out[k] = composeMerge(asNode(base)[k], v, k);
    return out;
  }
  return override;
}

/** A Kubernetes object as a kustomization builds it, with the file it came from. */
export interface BuiltObject {
  file: string;
  doc: Node;
}

/**
 * The objects `kubectl kustomize <dir>` would emit, for the features the deploy files use:
 * `resources` (files, and folders with their own kustomization.yaml) and `patches` holding a JSON
 * 6902 patch (op `add` only) with a target by kind and one `key=value` label selector. Anything
 * else in a kustomization fails the build, so a new feature cannot slip past the checks.
 */
export function kustomizeBuild(dir: string): BuiltObject[] {
  const [kustomization] = yamlDocuments(join(dir, "kustomization.yaml"));
  const known = new Set(["apiVersion", "kind", "resources", "patches", "images"]);
  for (const key of Object.keys(kustomization ?? {}))
    if (!known.has(key)) throw new Error(`${dir}: kustomization feature ${key} not understood by the check`);
  const objects: BuiltObject[] = [];
  for (const resource of asList(kustomization?.resources).map(String)) {
    const path = join(dir, resource);
    if (existsSync(join(path, "kustomization.yaml"))) objects.push(...kustomizeBuild(path));
    else objects.push(...yamlDocuments(path).map((doc) => ({ file: path, doc })));
  }
  for (const patch of asList(kustomization?.patches).map(asNode)) {
    const target = asNode(patch.target);
    const [labelKey, labelValue] = String(target.labelSelector ?? "").split("=");
    const ops = asList(parse(String(patch.patch))).map(asNode);
    const matched = objects.filter(
      ({ doc }) =>
        (target.kind === undefined || doc.kind === target.kind) &&
        (labelKey === "" || asNode(asNode(doc.metadata).labels)[labelKey ?? ""] === labelValue),
    );
    if (matched.length === 0) throw new Error(`${dir}: a patch matches nothing`);
    for (const { doc } of matched) for (const op of ops) applyAdd(doc, op);
  }
  return objects;
}

function applyAdd(doc: Node, op: Node): void {
  if (op.op !== "add") throw new Error(`patch op ${String(op.op)} not understood by the check`);
  const steps = String(op.path).split("/").slice(1);
  const last = steps.pop() ?? "";
  let at: unknown = doc;
  for (const step of steps) {
    at = Array.isArray(at) ? at[Number(step)] : asNode(at)[step];
    if (at === undefined) throw new Error(`patch path ${String(op.path)} does not exist`);
  }
  if (Array.isArray(at)) {
    if (last === "-") at.push(op.value);
    else at.splice(Number(last), 0, op.value);
  } else asNode(at)[last] = op.value;
}

/** Ports a workload's containers declare. */
export function declaredPorts(workload: Node): Node[] {
  return asList(asNode(asNode(asNode(workload.spec).template).spec).containers).flatMap((c) =>
    asList(asNode(c).ports).map(asNode),
  );
}

/**
 * Every probe that names a port, and every Service's targetPort, names a port its pods declare
 * (by name or number). Returns what does not, as readable lines.
 */
export function danglingPortReferences(objects: Node[]): string[] {
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "Job"].includes(String(o.kind)));
  const has = (ports: Node[], ref: unknown) => ports.some((p) => p.name === ref || p.containerPort === ref);
  const problems: string[] = [];
  for (const w of workloads) {
    const ports = declaredPorts(w);
    for (const c of asList(asNode(asNode(asNode(w.spec).template).spec).containers).map(asNode)) {
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"].map((k) => asNode(c[k]))) {
        for (const kind of ["grpc", "tcpSocket", "httpGet"]) {
          const ref = asNode(probe[kind]).port;
          if (ref !== undefined && !has(ports, ref))
            problems.push(`${String(asNode(w.metadata).name)} ${kind} ${String(ref)}`);
        }
      }
    }
  }
  for (const service of objects.filter((o) => o.kind === "Service")) {
    const name = String(asNode(service.metadata).name);
    const selector = asNode(asNode(service.spec).selector);
    const target = workloads.find((w) => {
      const labels = asNode(asNode(asNode(asNode(w.spec).template).metadata).labels);
      return Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
    if (target === undefined) {
      problems.push(`${name} selects no workload`);
      continue;
    }
    for (const p of asList(asNode(service.spec).ports).map(asNode))
      if (!has(declaredPorts(target), p.targetPort)) problems.push(`${name} ${String(p.targetPort)}`);
  }
  return problems;
}

/** The non-comment, non-blank lines of a config file (its directives), whitespace-normalised. */
export function directives(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim().replace(/\s+/g, " "))
    .filter((l) => l !== "" && !l.startsWith("#"));
}
