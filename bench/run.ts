/**
 * `npm run bench -- <idle|p2p|group|baseline|one-conn|flood> [options]` (bench/cli.ts lists the options): runs
 * one scenario against a WhaleShark started for the run, prints a progress line on stderr, the
 * tables on stdout, and writes the whole report to bench/results/<scenario>-<profile>-<time>.json.
 */
import { runBench, stopRunningBench } from "./bench.js";
import { parseBenchArgs, USAGE } from "./cli.js";
import { writeReport } from "./lib/report.js";
import { renderTable } from "./lib/table.js";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h") || argv.length === 0) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(argv.length === 0 ? 2 : 0);
}
let options: ReturnType<typeof parseBenchArgs>;
try {
  options = parseBenchArgs(argv);
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
const command = `npm run bench -- ${argv.join(" ")}`;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers and removing what this run created\n`);
    void stopRunningBench().finally(() => process.exit(130));
  });
}
let report: Awaited<ReturnType<typeof runBench>>;
try {
  report = await runBench(options, command);
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
const m = report.machine;
process.stdout.write(
  `\n${report.scenario} / ${report.profile} — ${report.startedAt}\n` +
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; ` +
    `load average ${m.loadAtStart.join(" ")} at start, ${(m.loadAtEnd ?? []).join(" ")} at end\n\n`,
);
for (const table of report.tables) process.stdout.write(`${renderTable(table)}\n\n`);
for (const note of report.notes) process.stdout.write(`note: ${note}\n`);
const file = writeReport(report, options.outDir);
process.stdout.write(`\nresult: ${file}\n`);
process.exit(0);
