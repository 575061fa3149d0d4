#!/usr/bin/env node
// Start-up time of a `whaleshark` command (issue 18): starts `node bin/whaleshark.js ARGS...`,
// prints the milliseconds until its first log line whose msg is READY, then stops it with SIGTERM
// and waits for its exit. On Linux it adds the CPU time the process (all its threads) had used by
// then and the 1-minute load average: on a shared machine the CPU time varies less than the wall
// time. Usage: node scripts/startup-time.mjs READY ARGS...
// e.g. WHALESHARK_RUNTIME=tsx node scripts/startup-time.mjs "whaleshark started" start
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { onLogMessage } from "./log-lines.mjs";

const [ready, ...args] = process.argv.slice(2);
if (!ready || args.length === 0) {
  console.error("usage: node scripts/startup-time.mjs READY_LOG_MSG whaleshark-args...");
  process.exit(2);
}
const bin = fileURLToPath(new URL("../bin/whaleshark.js", import.meta.url));
const t0 = process.hrtime.bigint();
const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "inherit"] });
let seen = false;
onLogMessage(child.stdout, ready, () => {
  seen = true;
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`${wall} ms${cpuAndLoad(child.pid)}`);
  child.kill("SIGTERM");
});
child.on("exit", (code, signal) => {
  if (!seen) {
    console.error(`exited (${code ?? signal}) before "${ready}"`);
    process.exit(1);
  }
});

/** `, CPU <ms> ms, load <1-min>` from /proc (Linux), or nothing where there is no /proc. */
function cpuAndLoad(pid) {
  try {
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ, 100 on Linux)
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    return `, CPU ${cpuMs} ms, load ${load}`;
  } catch {
    return "";
  }
}
