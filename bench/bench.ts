import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BenchOptions } from "./cli.js";
import { loadAverage } from "./lib/proc-stats.js";
import { Progress } from "./lib/progress.js";
import { type BenchReport, machineInfo, RESULTS_DIR } from "./lib/report.js";
import { startAgents } from "./load/agents.js";
import { type ProblemCount, summarizeProblems } from "./load/problem-log.js";
import type { ScenarioContext } from "./scenarios/context.js";
import { startTarget } from "./target/target.js";

/**
 * The gateway's send rates (gateway.sendRate*, 100 a second per connection by default: a person
 * never gets near) lifted: the scenarios measure how much the server carries, one-conn with one
 * connection at thousands a second. Only `flood` keeps them, since they are what it measures;
 * `--server-env` overrides either way.
 */
export const NO_SEND_RATES: Readonly<Record<string, string>> = {
  WHALESHARK_GATEWAY__SEND_RATE_PER_CONNECTION: "0",
  WHALESHARK_GATEWAY__SEND_RATE_PER_USER: "0",
};

/** Stops the run in progress (agents, then servers and what they created); set while one runs. */
let running: (() => Promise<void>) | undefined;

/**
 * Stops the servers and load generators of the run in progress, and removes what it created (the
 * distributed database, keys and queues); for an interrupted run. Resolves at once when none runs.
 */
export async function stopRunningBench(): Promise<void> {
  const stop = running;
  running = undefined;
  await stop?.();
}

async function scenarioRunner(
  scenario: BenchOptions["scenario"],
): Promise<(ctx: ScenarioContext) => Promise<void>> {
  switch (scenario) {
    case "idle":
      return (await import("./scenarios/idle.js")).runIdle;
    case "p2p":
      return (await import("./scenarios/p2p.js")).runP2PScenario;
    case "group":
      return (await import("./scenarios/group.js")).runGroupScenario;
    case "baseline":
      return (await import("./scenarios/baseline.js")).runBaseline;
    case "one-conn":
      return (await import("./scenarios/one-conn.js")).runOneConnScenario;
    case "flood":
      return (await import("./scenarios/flood.js")).runFloodScenario;
  }
}

/**
 * Runs one scenario end to end: starts the target (servers as child processes, logs under
 * `<out>/logs/<run>/`), the load agents, the scenario; then stops everything, also on failure.
 * Resolves with the report (tables, data, notes); writing it is the caller's business.
 */
export async function runBench(
  options: BenchOptions,
  command: string,
  progress = new Progress(),
): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const runId = randomBytes(3).toString("hex");
  const report: BenchReport = {
    scenario: options.scenario,
    profile: options.profile,
    startedAt,
    command,
    machine: machineInfo(),
    options: { ...options },
    tables: [],
    data: {},
    notes: [],
  };
  const logDir = join(
    options.outDir ?? RESULTS_DIR,
    "logs",
    `${options.scenario}-${options.profile}-${runId}`,
  );
  mkdirSync(logDir, { recursive: true });
  report.data.logDir = logDir;
  const run = await scenarioRunner(options.scenario);
  progress.note(`starting the ${options.profile} target (logs in ${logDir})`);
  const target = await startTarget({
    profile: options.profile,
    gateways: options.gateways,
    redisCluster: options.redisCluster,
    logLevel: options.logLevel,
    logDir,
    env: { ...(options.scenario === "flood" ? {} : NO_SEND_RATES), ...options.serverEnv },
    cpuProfileDir: options.cpuProf ? join(logDir, "profiles") : undefined,
  });
  report.data.processes = target.processes;
  const agents = startAgents(options.workers);
  const stop = async () => {
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
    await target.stop();
  };
  running = stop;
  try {
    await run({ options, target, agents, progress, report, runId });
    const problems = summarizeProblems(
      await Promise.all(agents.map((a) => a.request<ProblemCount[]>({ op: "errors" }))),
    );
    for (const p of problems.slice(0, 10)) report.notes.push(`clients: ${p}`);
    report.data.clientProblems = problems;
  } finally {
    progress.done();
    running = undefined;
    await stop().catch((error: unknown) => report.notes.push(`stopping the target: ${String(error)}`));
    report.machine.loadAtEnd = loadAverage();
    report.finishedAt = new Date().toISOString();
  }
  return report;
}
