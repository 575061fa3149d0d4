import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The repository root (bench/target/../..). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** One pino JSON log line of a child, as parsed. */
export type LogLine = Record<string, unknown>;

/** A `whaleshark` (or other Node) child process whose stdout/stderr go to a log file. */
export interface ChildHandle {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | null>;
}

/** How to start a child and when it counts as ready. */
export interface SpawnOptions {
  name: string;
  /** Arguments after `node` (script first). */
  args: string[];
  /** Added to this process's environment. */
  env: Record<string, string>;
  logFile: string;
  /**
   * Called with every JSON line on stdout until it returns true; the returned promise resolves
   * with the lines that matched. Without it the child is ready at once.
   */
  readyWhen?: (line: LogLine) => boolean;
  /** How many matching lines make it ready (default 1). */
  readyCount?: number;
  /** Ready once this port on 127.0.0.1 accepts connections (checked after `readyWhen`). */
  readyPort?: number;
  /** Give up waiting after this long (default 120 s: tsx compiles the sources on a busy box). */
  timeoutMs?: number;
}

/** Starts a `whaleshark <command>` child: `node [nodeFlags] bin/whaleshark.js ...command`. */
export function whaleshark(command: string[], options: Omit<SpawnOptions, "args">, nodeFlags: string[] = []) {
  return spawnChild({
    ...options,
    args: [...nodeFlags, join(REPO_ROOT, "bin", "whaleshark.js"), ...command],
  });
}

/**
 * Spawns `node <args>`, copies its output to `logFile` and waits until ready. Rejects (after
 * killing it) when it exits or times out first, quoting the last log lines.
 */
export async function spawnChild(options: SpawnOptions): Promise<{ child: ChildHandle; ready: LogLine[] }> {
  const log = createWriteStream(options.logFile);
  const proc = spawn(process.execPath, options.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  proc.stderr?.pipe(log, { end: false });
  exited.then(() => closeLog(log));
  const child: ChildHandle = {
    name: options.name,
    pid: proc.pid ?? -1,
    logFile: options.logFile,
    exited,
    stop: (graceMs = 15_000) => stopChild(proc, exited, graceMs),
  };
  const tail: string[] = [];
  const matched: LogLine[] = [];
  const want = options.readyCount ?? 1;
  const timeoutMs = options.timeoutMs ?? 120_000;
  let onMatch = () => {};
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    log.write(`${text}\n`);
    tail.push(text);
    if (tail.length > 20) tail.shift();
    if (options.readyWhen === undefined || matched.length >= want) return;
    const line = parseLine(text);
    if (line !== undefined && options.readyWhen(line)) {
      matched.push(line);
      if (matched.length >= want) onMatch();
    }
  });
  const fail = async (reason: string) => {
    await child.stop(2_000);
    throw new Error(`${options.name}: ${reason}\n  log ${options.logFile}:\n  ${tail.join("\n  ")}`);
  };
  if (options.readyWhen !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<string>((resolve) => {
        onMatch = () => resolve("ready");
      }),
      exited.then((code) => `exited with ${code} before it was ready`),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`not ready after ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== "ready") await fail(outcome);
  }
  if (options.readyPort !== undefined) {
    const up = await waitForPort(options.readyPort, timeoutMs, () => proc.exitCode !== null);
    if (!up) await fail(`port ${options.readyPort} never opened`);
  }
  return { child, ready: matched };
}

/** A port free right now on 127.0.0.1, for a server told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** Polls until `port` accepts a TCP connection; false on timeout or when `gone()`. */
async function waitForPort(port: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until && !gone()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function parseLine(text: string): LogLine | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return undefined;
  }
}

async function stopChild(proc: ChildProcess, exited: Promise<number | null>, graceMs: number) {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(resolve));
}
