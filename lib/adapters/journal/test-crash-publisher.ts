/**
 * Child process of journaled-bus.crash.test.ts (run as `node --import tsx <this> <dir>`): opens a
 * JournaledBus over a MemoryBus on `dir`, lets a consumer finish 50 messages (`finished 50`), then
 * publishes without a consumer, printing `published <body>` as each publish resolves, until the
 * test SIGKILLs it. stdout is a pipe, which Node writes synchronously: a printed line was resolved.
 */
import { pino } from "pino";
import { MemoryBus } from "../memory/bus.js";
import { JournaledBus } from "./journaled-bus.js";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: test-crash-publisher.ts <dir>");
const bus = await JournaledBus.open({ dir, inner: new MemoryBus(), logger: pino({ level: "silent" }) });
await bus.declareQueue("jobs", { durable: true });
const text = (s: string) => new TextEncoder().encode(s);

let finished = 0;
const consumer = await bus.consume("jobs", async () => {
  finished++;
});
await Promise.all(Array.from({ length: 50 }, (_, i) => bus.publish("jobs", text(`done-${i}`))));
while (finished < 50) await new Promise((r) => setTimeout(r, 5));
await consumer.stop();
await new Promise((r) => setTimeout(r, 100)); // the ACK records are written (not synced: a kill keeps them)
process.stdout.write("finished 50\n");

// 20 publishes in flight at any time, until the kill.
let next = 0;
const lane = async () => {
  for (;;) {
    const body = `open-${next++}`;
    await bus.publish("jobs", text(body));
    process.stdout.write(`published ${body}\n`);
  }
};
await Promise.all(Array.from({ length: 20 }, lane));
