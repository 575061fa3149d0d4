import { importFriendships, importUsers } from "../../lib/app-client/index.js";
import type { BenchOptions } from "../cli.js";
import {
  cpuShare,
  INFRA_COMMANDS,
  type ProcSample,
  sampleByCommand,
  sampleProcess,
} from "../lib/proc-stats.js";
import type { Progress } from "../lib/progress.js";
import type { BenchReport } from "../lib/report.js";
import type { AgentCounters, ClientSpec, OpenResult, OpenSpec } from "../load/agent-protocol.js";
import { type AgentHandle, totalCounters } from "../load/agents.js";
import { type BenchTransportKind, sourceAddress } from "../load/transports.js";
import { type BenchTarget, type GatewayEndpoint, SETUP_PARALLEL } from "../target/target.js";

/** Everything a scenario works with; it adds its tables, data and notes to `report`. */
export interface ScenarioContext {
  options: BenchOptions;
  target: BenchTarget;
  agents: AgentHandle[];
  progress: Progress;
  report: BenchReport;
  /** Short random id of this run: user ids and message bodies carry it. */
  runId: string;
}

/** Connections one source address may open towards one destination (of ~28k ephemeral ports). */
const PER_SOURCE_ADDRESS = 25_000;

/** `n` user ids `<prefix><runId>-<i>`. */
export function userIds(ctx: ScenarioContext, prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${ctx.runId}-${i}`);
}

/** Client specs for users, each on the gateway `gatewayOf(i)` picks, spread over source addresses. */
export function clientSpecs(
  ctx: ScenarioContext,
  users: string[],
  gatewayOf: (index: number) => GatewayEndpoint,
  kind: BenchTransportKind = ctx.options.transport,
): ClientSpec[] {
  const sources = ctx.options.sourceIps || Math.ceil(users.length / PER_SOURCE_ADDRESS);
  return users.map((userId, i) => ({
    userId,
    kind,
    endpoint: gatewayOf(i),
    localAddress: sourceAddress(i, sources),
  }));
}

/**
 * Creates `users` and makes each pair friends both ways, as the app admin, so that P2P sends pass
 * the default `messaging.checkFriendship`.
 */
export async function importFriends(
  ctx: ScenarioContext,
  users: string[],
  pairs: Array<[string, string]>,
): Promise<void> {
  const admin = ctx.target.admin();
  try {
    await importUsers(admin, users, { parallel: SETUP_PARALLEL, requireAll: true });
    await importFriendships(admin, pairs, { parallel: SETUP_PARALLEL });
  } finally {
    admin.close();
  }
}

/** Samples of every server process, by name. */
export function sampleServers(target: BenchTarget): Record<string, ProcSample | undefined> {
  return Object.fromEntries(target.processes.map((p) => [p.name, sampleProcess(p.pid)]));
}

/** Awaits `work` while the progress line shows `line(counts since the start, seconds)` every 250 ms. */
export async function watch<T>(
  ctx: ScenarioContext,
  work: Promise<T>,
  line: (totals: AgentCounters, seconds: number) => string,
): Promise<T> {
  const started = performance.now();
  const base = totalCounters(ctx.agents);
  const show = () => {
    const now = totalCounters(ctx.agents);
    for (const k of Object.keys(now) as Array<keyof AgentCounters>) now[k] -= base[k];
    ctx.progress.update(line(now, (performance.now() - started) / 1000));
  };
  const timer = setInterval(show, 250);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    show();
  }
}

/**
 * Opens `perAgent[i]` on agent i (all agents at once) and logs them in; the progress line shows
 * the logins. `sdk` sets SDK options beyond the run's (the send window). Resolves with the merged
 * results; notes the first failures in the report.
 */
export async function openOnAgents(
  ctx: ScenarioContext,
  perAgent: ClientSpec[][],
  sdk: Pick<OpenSpec, "maxInFlight"> = {},
): Promise<OpenResult> {
  const total = perAgent.reduce((n, specs) => n + specs.length, 0);
  const concurrency = 100;
  const results = await watch(
    ctx,
    Promise.all(
      perAgent.map((clients, i) =>
        (ctx.agents[i] as AgentHandle).request<OpenResult>({
          op: "open",
          spec: {
            clients,
            appId: ctx.target.app.appId,
            privateKey: ctx.target.app.privateKey,
            encoding: ctx.options.encoding,
            heartbeatMs: ctx.options.heartbeatMs,
            concurrency,
            autoReceiveAck: ctx.options.receiveAck,
            sync: ctx.options.sync,
            maxFrameBytes: ctx.options.maxFrameBytes,
            ...sdk,
          },
        }),
      ),
    ),
    (c, s) => `login ${c.connected}/${total} (${c.connectFailed} failed) ${Math.round(c.connected / s)}/s`,
  );
  const merged: OpenResult = {
    opened: results.reduce((n, r) => n + r.opened, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    errors: results.flatMap((r) => r.errors).slice(0, 5),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
  };
  if (merged.failed > 0) {
    ctx.report.notes.push(`${merged.failed} of ${total} logins failed, e.g. ${merged.errors.join("; ")}`);
  }
  return merged;
}

/** CPU used during a measurement, in % of one core. */
export interface CpuUse {
  /** Our server processes by name. */
  servers: Record<string, number>;
  /** Redis, RabbitMQ, PostgreSQL (distributed only; shared with the rest of the machine). */
  infra: Record<string, number>;
  /** The load generator: this process and its workers. */
  generator: number;
}

/** Starts measuring CPU; the returned function ends the measurement. */
export function startCpuMeter(ctx: ScenarioContext): () => CpuUse {
  const distributed = ctx.target.profile === "distributed";
  const startedAt = performance.now();
  const servers = sampleServers(ctx.target);
  const infra = distributed ? sampleByCommand(INFRA_COMMANDS) : {};
  const generatorPids = [process.pid, ...ctx.agents.flatMap((a) => (a.pid === undefined ? [] : [a.pid]))];
  const generators = generatorPids.map((pid) => sampleProcess(pid));
  return () => {
    const wall = performance.now() - startedAt;
    const serverUse: Record<string, number> = {};
    for (const [name, after] of Object.entries(sampleServers(ctx.target))) {
      const before = servers[name];
      if (before && after) serverUse[name] = r2(cpuShare(before, after) * 100);
    }
    const infraUse: Record<string, number> = {};
    if (distributed) {
      for (const [name, ms] of Object.entries(sampleByCommand(INFRA_COMMANDS))) {
        // A backend that exits between the samples takes its CPU time with it: never below 0.
        infraUse[name] = r2(Math.max(0, ((ms - (infra[name] ?? 0)) / wall) * 100));
      }
    }
    const generator = generatorPids.reduce((sum, pid, i) => {
      const before = generators[i];
      const after = sampleProcess(pid);
      return before && after ? sum + cpuShare(before, after) * 100 : sum;
    }, 0);
    return { servers: serverUse, infra: infraUse, generator: r2(generator) };
  };
}

/** Sum of the values (CPU shares). */
export function total(use: Record<string, number>): number {
  return r2(Object.values(use).reduce((a, b) => a + b, 0));
}

/** Rounds to two decimals (table cells). */
export function r2(n: number): number {
  return Math.round(n * 100) / 100;
}
