import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Discovery, ServiceInstance } from "../lib/ports/discovery.js";

/** The `whaleshark` command of this checkout (run as `node bin/whaleshark.js`). */
export const WHALESHARK_BIN = fileURLToPath(new URL("../bin/whaleshark.js", import.meta.url));

/** One pino JSON log line of a member, as parsed. */
export type LogLine = Record<string, unknown>;

/** How a member process ended. */
export interface MemberExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What {@link ClusterMember.spawn} starts. */
export interface MemberOptions {
  /** Label in logs and errors, e.g. `gateway-1`. */
  name: string;
  /** `whaleshark` arguments, e.g. `["domain"]`. */
  args: string[];
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Every stdout line as written (the cluster command forwards them). */
  onLine?: (text: string) => void;
  /** Every stderr chunk as written. */
  onStderr?: (text: string) => void;
}

/** Parsed log lines kept per member; older ones are dropped so a long run stays bounded. */
const KEPT_LINES = 5000;

/** Members still running: killed with SIGKILL if this process exits first, so none is left behind. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * One `whaleshark <role>` child process of a local cluster: its parsed JSON log lines, its exit,
 * and how to stop it (SIGTERM with a grace period, then SIGKILL) or kill it outright. Used by
 * `whaleshark cluster` and by the multi-process tests, which also kill members on purpose.
 */
export class ClusterMember {
  /** Parsed JSON log lines, oldest first (at most the last 5000). */
  readonly logs: LogLine[] = [];
  /** Resolves once the process is gone, however it ended. */
  readonly exited: Promise<MemberExit>;
  #stderr = "";
  readonly #waiters = new Set<(line: LogLine) => void>();

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
  }

  /** Starts `node bin/whaleshark.js ...args` with `env`. */
  static spawn(options: MemberOptions): ClusterMember {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once("exit", () => {
        for (const child of live) child.kill("SIGKILL");
      });
    }
    const child = spawn(process.execPath, [WHALESHARK_BIN, ...options.args], {
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(child);
    const member = new ClusterMember(options.name, child);
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      member.#stderr = (member.#stderr + text).slice(-8192);
      options.onStderr?.(text);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
      options.onLine?.(text);
      const line = parseLine(text);
      if (line === undefined) return;
      member.logs.push(line);
      if (member.logs.length > KEPT_LINES) member.logs.shift();
      for (const waiter of [...member.#waiters]) waiter(line);
    });
    return member;
  }

  /** The OS process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last 8 KiB the process wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Resolves with the first log line (already seen or coming) that `match` accepts.
   * @throws Error after `timeoutMs`, or when the process exits first (quoting its stderr)
   */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, line?: LogLine) => {
        clearTimeout(timer);
        this.#waiters.delete(onLine);
        if (error) reject(error);
        else resolve(line as LogLine);
      };
      const onLine = (line: LogLine) => {
        if (match(line)) done(undefined, line);
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name}: no matching log line in ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref(); // a pending wait alone must not keep the process alive
      this.#waiters.add(onLine);
      void this.exited.then((e) =>
        done(
          new Error(
            `${this.name} exited (${e.code ?? e.signal}) first; stderr: ${this.#stderr.slice(-2000)}`,
          ),
        ),
      );
    });
  }

  /** SIGTERM (a clean drain), then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs: number): Promise<MemberExit> {
    if (!this.running) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL: the process dies without deregistering or draining (a crash). */
  kill(): Promise<MemberExit> {
    if (this.running) this.child.kill("SIGKILL");
    return this.exited;
  }
}

function parseLine(text: string): LogLine | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return undefined;
  }
}

/**
 * Resolves with the live instances of `service` as soon as `until` accepts them (e.g. "ids a and
 * b are registered", or "id a is gone").
 * @throws Error after `timeoutMs`, naming the service and the last list seen
 */
export function waitForInstances(
  discovery: Discovery,
  service: string,
  until: (instances: readonly ServiceInstance[]) => boolean,
  timeoutMs: number,
): Promise<readonly ServiceInstance[]> {
  return new Promise((resolve, reject) => {
    let last: readonly ServiceInstance[] = [];
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // The first list is never delivered synchronously inside watch(), so unwatch is assigned.
      unwatch();
      if (error) reject(error);
      else resolve(last);
    };
    const timer = setTimeout(() => {
      const ids = last.map((i) => `${i.id}@${i.host}:${i.port}`).join(", ");
      finish(
        new Error(`discovery: ${service} not as expected within ${timeoutMs} ms (live: ${ids || "none"})`),
      );
    }, timeoutMs);
    timer.unref(); // a pending wait alone must not keep the process alive
    const unwatch = discovery.watch(service, (instances) => {
      last = instances;
      if (until(instances)) finish();
    });
  });
}
