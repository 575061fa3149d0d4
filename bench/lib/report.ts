import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAverage } from "./proc-stats.js";
import type { Table } from "./table.js";

/** The machine a run happened on (RESULTS.md puts the numbers next to it). */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1/5/15-minute load averages when the run started and when it ended: the box is shared. */
  loadAtStart: [number, number, number];
  loadAtEnd?: [number, number, number];
}

/** What one `npm run bench` run produces: its tables (stdout) and everything else (JSON file). */
export interface BenchReport {
  scenario: string;
  profile: string;
  startedAt: string;
  finishedAt?: string;
  /** The command line that produced it. */
  command: string;
  machine: MachineInfo;
  /** The options in effect, defaults included. */
  options: Record<string, unknown>;
  tables: Table[];
  /** Scenario-specific results (histograms in transferable form, counts, process samples). */
  data: Record<string, unknown>;
  /** Problems that make a number not comparable (errors, missing features), printed after the tables. */
  notes: string[];
}

/** Describes this machine now. */
export function machineInfo(): MachineInfo {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAtStart: loadAverage(),
  };
}

/** bench/results/, git-ignored. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

/**
 * Writes the report to `bench/results/<scenario>-<profile>-<timestamp>.json` (or under `dir`) and
 * returns the path relative to the working directory.
 */
export function writeReport(report: BenchReport, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const file = join(dir, `${report.scenario}-${report.profile}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return relative(process.cwd(), file) || file;
}
