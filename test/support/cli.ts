import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's `whaleshark` command, as `npx whaleshark` runs it. */
export const whalesharkBin = fileURLToPath(new URL("../../bin/whaleshark.js", import.meta.url));

/**
 * Environment for a CLI run that cannot collide with anything else: its own
 * data folder, every listener on an ephemeral port, and no demo data (tests
 * create their own users; pass `WHALESHARK_SEED__DEMO: "true"` for alice, bob,
 * carol and the demo group).
 */
export async function isolatedEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const dataDir = await mkdtemp(join(tmpdir(), "whaleshark-test-"));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("WHALESHARK_")) delete env[key];
  return {
    ...env,
    WHALESHARK_DATA_DIR: dataDir,
    WHALESHARK_GATEWAY__GRPC_PORT: "0",
    WHALESHARK_GATEWAY__TCP_PORT: "0",
    WHALESHARK_GATEWAY__WS_PORT: "0",
    WHALESHARK_DOMAIN__PORT: "0",
    WHALESHARK_STORE__PORT: "0",
    WHALESHARK_METRICS__GATEWAY_PORT: "0",
    WHALESHARK_METRICS__DOMAIN_PORT: "0",
    WHALESHARK_METRICS__STORE_PORT: "0",
    WHALESHARK_SEED__DEMO: "false",
    ...extra,
  };
}

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `whaleshark ...args` to completion (bounded by `timeoutMs`). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawn(process.execPath, [whalesharkBin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  return collect(child, timeoutMs);
}

/** A CLI process left running, with its parsed JSON log lines. */
export interface RunningCli {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line for which `match` is true. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when the process exits. */
  exited: Promise<CliResult>;
}

/** Starts `whaleshark ...args` and keeps it running. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [whalesharkBin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = collect(child, 120_000);
  return {
    child,
    logs,
    exited,
    waitForLog(match, timeoutMs = 30_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then((r) =>
          reject(
            new Error(`process exited (${r.code ?? r.signal}) before the log line; stderr: ${r.stderr}`),
          ),
        );
      });
    },
  };
}

function collect(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A running `whaleshark start` and where its roles listen. */
export interface StartedEmbedded {
  cli: RunningCli;
  /** The domain's gRPC address, on 127.0.0.1. */
  domain: string;
  /** The gateway's TCP client port. */
  tcpPort: number;
}

/**
 * Starts `whaleshark start` in an isolated data folder with one app (`adminIds` its admins) and
 * waits until it serves; `extra` adds WHALESHARK_* variables.
 */
export async function startEmbedded(
  app: { appId: number; privateKey: string; adminIds: string[] },
  extra: Record<string, string> = {},
): Promise<StartedEmbedded> {
  const apps = { [app.appId]: { privateKey: app.privateKey, adminIds: app.adminIds } };
  const cli = startCli(["start"], await isolatedEnv({ WHALESHARK_APPS: JSON.stringify(apps), ...extra }));
  const started = await cli.waitForLog((l) => l.msg === "whaleshark started", 60_000);
  const roles = Object.fromEntries((started.roles as string[]).map((r) => r.split("@") as [string, string]));
  const domain = (roles.domain ?? "").replace("0.0.0.0", "127.0.0.1");
  const tcpPort = (await cli.waitForLog((l) => l.msg === "gateway listening", 1_000)).tcpPort as number;
  return { cli, domain, tcpPort };
}
