/**
 * Child process of order-after-crash.test.ts (run as `node --import tsx <this> <messageId>` in a
 * test cluster's environment): the `whaleshark domain` role, registered in discovery like one,
 * except that it SIGKILLs itself when it publishes the persistence job carrying `<messageId>`:
 * after the message got its messageKey and sequence (kv records them under its claim), before the
 * bus holds the job. It prints `crashing at a publish to <queue>` first (stdout is a pipe: written
 * synchronously). The resend then finds the message recorded under a claim whose holder is dead
 * and publishes it under the same key and sequence once the record is old enough (send-dedupe.ts).
 */
import { pino } from "pino";
import { createDeps } from "../../../app/deps.js";
import { loadConfig } from "../../../lib/config/index.js";

const marker = process.argv[2];
if (marker === undefined || marker === "") throw new Error("usage: crashing-domain.ts <messageId>");
const needle = new TextEncoder().encode(marker);

function carries(body: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= body.length; i++) {
    for (let j = 0; j < needle.length; j++) if (body[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const config = loadConfig({ env: process.env });
const logger = pino({ level: "silent" });
const deps = await createDeps(config, logger);
const publish = deps.bus.publish.bind(deps.bus);
deps.bus.publish = (queue, body, headers) => {
  if (carries(body)) {
    process.stdout.write(`crashing at a publish to ${queue}\n`);
    process.kill(process.pid, "SIGKILL");
  }
  return publish(queue, body, headers);
};
await deps.startRole("domain", logger);
process.stdout.write("registered\n");
