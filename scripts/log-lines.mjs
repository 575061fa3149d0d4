// What the measuring scripts (startup-time.mjs, idle-rss.mjs) share: waiting for a `whaleshark`
// process's ready line on its stdout (pino's JSON lines; other lines are skipped).
import { createInterface } from "node:readline";

/** Calls `seen` once, at the first JSON log line of `stream` whose `msg` is `message`. */
export function onLogMessage(stream, message, seen) {
  const lines = createInterface({ input: stream });
  let done = false;
  lines.on("line", (line) => {
    if (done) return;
    let msg;
    try {
      msg = JSON.parse(line).msg;
    } catch {
      return;
    }
    if (msg !== message) return;
    done = true;
    seen();
  });
}
