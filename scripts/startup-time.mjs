#!/usr/bin/env node
// Start-up time of a `whaleshark` command (issue 18): starts `node bin/whaleshark.js ARGS...`,
// prints the milliseconds until its first log line whose msg is READY, then stops it with SIGTERM
// and waits for its exit. Usage: node scripts/startup-time.mjs READY ARGS...
// e.g. WHALESHARK_RUNTIME=tsx node scripts/startup-time.mjs "whaleshark started" start
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const [ready, ...args] = process.argv.slice(2);
if (!ready || args.length === 0) {
  console.error("usage: node scripts/startup-time.mjs READY_LOG_MSG whaleshark-args...");
  process.exit(2);
}
const bin = fileURLToPath(new URL("../bin/whaleshark.js", import.meta.url));
const t0 = process.hrtime.bigint();
const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "inherit"] });
let seen = false;
createInterface({ input: child.stdout }).on("line", (line) => {
  if (seen) return;
  let msg;
  try {
    msg = JSON.parse(line).msg;
  } catch {
    return;
  }
  if (msg !== ready) return;
  seen = true;
  console.log(`${Number(process.hrtime.bigint() - t0) / 1e6} ms`);
  child.kill("SIGTERM");
});
child.on("exit", (code, signal) => {
  if (!seen) {
    console.error(`exited (${code ?? signal}) before "${ready}"`);
    process.exit(1);
  }
});
