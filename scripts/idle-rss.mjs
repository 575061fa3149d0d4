#!/usr/bin/env node
// Idle memory of a `whaleshark` command (issue 18): starts `node bin/whaleshark.js ARGS...`, waits
// for its first log line whose msg is READY, and at each of the --at seconds after it (default 10
// and 30) prints the process's VmRSS (with its anonymous and file-backed parts) from
// /proc/<pid>/status and the V8 heap; then stops it with SIGTERM and waits for its exit. --runs
// repeats it; the last lines give the median at each mark. Two marks because an idle Node process
// shrinks some 15 s after its start-up, when V8's memory reducer runs a compacting GC once the
// allocation rate has dropped: 10 s is where issue 18 measures, 30 s the state it settles in.
// Usage: node scripts/idle-rss.mjs [--runs N] [--at S,S...] [--bin PATH] [--node-flag F]... [--no-heap]
//          READY ARGS...
// --node-flag passes a flag to node itself (V8's flags are refused in NODE_OPTIONS).
// e.g. WHALESHARK_RUNTIME=dist node scripts/idle-rss.mjs "grpc server listening" domain
//      (the distributed roles take their configuration from WHALESHARK_* as usual: bench/RESULTS.md)
// The heap comes over an IPC channel from a two-line module preloaded with --import (it answers
// one message with process.memoryUsage()); --no-heap leaves both out, to read RSS alone. Linux only.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { onLogMessage } from "./log-lines.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "1" },
    at: { type: "string", default: "10,30" },
    bin: { type: "string", default: fileURLToPath(new URL("../bin/whaleshark.js", import.meta.url)) },
    "no-heap": { type: "boolean", default: false },
    "node-flag": { type: "string", multiple: true, default: [] },
    "ready-timeout": { type: "string", default: "120" },
  },
});
const [ready, ...args] = positionals;
if (!ready || args.length === 0) {
  console.error(
    "usage: node scripts/idle-rss.mjs [--runs N] [--at S,S...] [--bin PATH] [--node-flag F]... [--no-heap] READY_LOG_MSG whaleshark-args...",
  );
  process.exit(2);
}
const heap = !values["no-heap"];
const marks = values.at
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
if (marks.some((s) => !(s >= 0))) {
  console.error(`--at: seconds after READY, comma-separated (got "${values.at}")`);
  process.exit(2);
}

/** Answers "memory" with process.memoryUsage(); unref'd, so the role's shutdown is unchanged. */
const PROBE = `process.on("message",(m)=>{if(m==="memory")process.send(process.memoryUsage())});process.channel?.unref();`;

const mib = (bytes) => bytes / 1024 / 1024;

/** kB fields of /proc/<pid>/status, in MiB. */
function procStatus(pid) {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]] = Number(m[2]) / 1024;
  }
  return out;
}

async function oneRun() {
  const nodeArgs = heap ? [`--import=data:text/javascript,${encodeURIComponent(PROBE)}`] : [];
  const stdio = heap ? ["ignore", "pipe", "inherit", "ipc"] : ["ignore", "pipe", "inherit"];
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...values["node-flag"], ...nodeArgs, values.bin, ...args], {
    stdio,
  });
  const exited = once(child, "exit");
  const readyAt = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${ready}" within ${values["ready-timeout"]} s`)),
      Number(values["ready-timeout"]) * 1000,
    );
    exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before "${ready}"`));
    });
    onLogMessage(child.stdout, ready, () => {
      clearTimeout(timer);
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
  try {
    const readyMs = await readyAt;
    const readyTime = Date.now();
    const samples = [];
    for (const mark of marks) {
      await new Promise((r) => setTimeout(r, Math.max(0, readyTime + mark * 1000 - Date.now())));
      const status = procStatus(child.pid);
      let usage;
      if (heap) {
        child.send("memory");
        [usage] = await once(child, "message");
      }
      samples.push({ mark, status, usage, load: loadavg()[0] });
    }
    return { readyMs, samples };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  }
}

function describe(sample) {
  const { status, usage } = sample;
  const parts = [
    `+${sample.mark} s: VmRSS ${status.VmRSS.toFixed(1)} MiB`,
    `(anon ${status.RssAnon.toFixed(1)}, file ${status.RssFile.toFixed(1)})`,
  ];
  if (usage) {
    parts.push(
      `heap used ${mib(usage.heapUsed).toFixed(1)} of ${mib(usage.heapTotal).toFixed(1)},`,
      `external ${mib(usage.external).toFixed(1)}`,
    );
  }
  parts.push(`load ${sample.load.toFixed(2)}`);
  return parts.join(" ");
}

const results = [];
for (let i = 0; i < Number(values.runs); i++) {
  const r = await oneRun();
  results.push(r);
  console.log(
    `run ${i + 1}: ready ${(r.readyMs / 1000).toFixed(2)} s; ${r.samples.map(describe).join("; ")}`,
  );
}
marks.forEach((mark, m) => {
  const sorted = results.map((r) => r.samples[m].status.VmRSS).sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  console.log(
    `+${mark} s: median VmRSS ${median.toFixed(1)} MiB (${sorted.map((v) => v.toFixed(1)).join(" / ")})`,
  );
});
