import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryBus } from "../memory/bus.js";
import { JournaledBus } from "./journaled-bus.js";

// A real crash: a child process publishes through a JournaledBus and is SIGKILLed mid-stream.
const child = fileURLToPath(new URL("./test-crash-publisher.ts", import.meta.url));
let dir = "";

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("JournaledBus across a SIGKILL", () => {
  it("redelivers every message whose publish resolved and was not finished, once; none that was", async () => {
    dir = await mkdtemp(join(tmpdir(), "ws-journal-crash-"));
    const proc = spawn(process.execPath, ["--import", "tsx", child, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const published: string[] = [];
    let finished = false;
    let stderr = "";
    proc.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    let buffered = "";
    const killed = new Promise<void>((resolve, reject) => {
      proc.on("exit", (code, signal) =>
        signal === "SIGKILL" ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`)),
      );
      proc.stdout.on("data", (c: Buffer) => {
        buffered += c.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "finished 50") finished = true;
          else if (line.startsWith("published ")) published.push(line.slice("published ".length));
        }
        if (published.length >= 500 && proc.exitCode === null) proc.kill("SIGKILL");
      });
    });
    await killed;
    expect(finished).toBe(true);

    const bus = await JournaledBus.open({ dir, inner: new MemoryBus(), logger: pino({ level: "silent" }) });
    await bus.declareQueue("jobs", { durable: true });
    const got: string[] = [];
    await bus.consume(
      "jobs",
      async (msg) => {
        got.push(new TextDecoder().decode(msg.body));
      },
      { prefetch: 100 },
    );
    const progress = await bus.whenReplayed(10_000);
    expect(progress.pending).toBe(0);
    expect(got.filter((b) => b.startsWith("done-"))).toEqual([]); // finished before the crash
    expect(new Set(got).size).toBe(got.length); // none twice
    const redelivered = new Set(got);
    expect(published.filter((b) => !redelivered.has(b))).toEqual([]); // every resolved publish is back
    // Publishes in flight at the kill may be back too (their bytes made it), in publish order.
    const order = got.map((b) => Number(b.slice("open-".length)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    console.info(`SIGKILL after ${published.length} resolved publishes: ${got.length} redelivered`);
    await bus.close();
  }, 30_000);
});
