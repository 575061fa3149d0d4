import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AgentCounters, AgentRequest } from "./agent-protocol.js";
import { LoadAgent, zeroCounters } from "./load-agent.js";

/** A load agent, here or in a worker process. */
export interface AgentHandle {
  /** Sends a request and resolves with its answer; rejects with the agent's error. */
  request<T>(request: AgentRequest): Promise<T>;
  /** The latest counters the agent reported. */
  counters(): AgentCounters;
  /** The worker's pid, undefined for the in-process agent. */
  readonly pid: number | undefined;
  /** Closes the agent's clients (and ends its process). */
  close(): Promise<void>;
}

class InProcessAgent implements AgentHandle {
  readonly pid = undefined;
  readonly #agent = new LoadAgent();
  request<T>(request: AgentRequest): Promise<T> {
    return this.#agent.handle(request) as Promise<T>;
  }
  counters(): AgentCounters {
    return this.#agent.counters;
  }
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

class ForkedAgent implements AgentHandle {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #counters = zeroCounters();
  #nextId = 1;

  constructor(index: number) {
    const entry = fileURLToPath(new URL("./agent-worker.ts", import.meta.url));
    this.#child = fork(entry, [String(index)], { execArgv: ["--import", "tsx"], stdio: "inherit" });
    this.#child.on("message", (m: Reply | { counters: AgentCounters }) => {
      if ("counters" in m) {
        this.#counters = m.counters;
        return;
      }
      const waiter = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.ok) waiter?.resolve(m.value);
      else waiter?.reject(new Error(`agent ${index}: ${m.error}`));
    });
    this.#child.on("exit", (code) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`agent ${index} exited with ${code}`));
      this.#waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  request<T>(request: AgentRequest): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, request });
    });
  }

  counters(): AgentCounters {
    return this.#counters;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    await this.request({ op: "close" }).catch(() => undefined);
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * `workers` forked load generators (each its own process: its own event loop, file descriptor
 * limit and ephemeral ports), or one agent inside this process when `workers` is 0.
 */
export function startAgents(workers: number): AgentHandle[] {
  if (workers <= 0) return [new InProcessAgent()];
  return Array.from({ length: workers }, (_, i) => new ForkedAgent(i));
}

/** The agents' counters added up. */
export function totalCounters(agents: AgentHandle[]): AgentCounters {
  const total = zeroCounters();
  for (const a of agents) {
    const c = a.counters();
    for (const k of Object.keys(total) as Array<keyof AgentCounters>) total[k] += c[k];
  }
  return total;
}

/** Splits `items` into `n` nearly equal consecutive parts. */
export function split<T>(items: T[], n: number): T[][] {
  const parts: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => {
    parts[Math.floor((i * n) / items.length)]?.push(item);
  });
  return parts;
}
