import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { busContract } from "../../ports/bus.contract.js";
import type { BusMessage } from "../../ports/bus.js";
import { MemoryBus } from "../memory/bus.js";
import { JournaledBus } from "./journaled-bus.js";
import { scanRecords } from "./record-codec.js";
import { listSegments } from "./segment-dir.js";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "ws-journaled-bus-"));
  dirs.push(dir);
  return dir;
};
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const open = (dir: string, maxSegmentBytes?: number) =>
  JournaledBus.open({ dir, inner: new MemoryBus(), logger, maxSegmentBytes });

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** Every record in the journal's segment files, oldest first. */
async function recordsIn(dir: string) {
  const all = [];
  for (const s of await listSegments(dir)) all.push(...scanRecords(await readFile(s.path)).records);
  return all;
}

/** Consumes `queue` into an array (the handler resolves: every message is finished). */
async function collect(bus: JournaledBus, queue: string): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  await bus.consume(queue, async (msg) => {
    got.push(msg);
  });
  return got;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

busContract("journaled (memory inside)", async () => {
  const bus = await open(await tempDir());
  return { bus, cleanup: () => bus.close() };
});

// Crashes are simulated in process by opening a second bus on the directory without closing the
// first (its memory is as good as lost); journaled-bus.crash.test.ts does it with SIGKILL.
describe("JournaledBus", () => {
  it("has a durable publish in the journal file when publish resolves", async () => {
    const dir = await tempDir();
    const bus = await open(dir);
    await bus.declareQueue("jobs", { durable: true });
    await bus.publish("jobs", text("job-1"), { traceId: "t1" });
    expect(await recordsIn(dir)).toEqual([
      { kind: "pub", id: expect.any(Number), queue: "jobs", headers: { traceId: "t1" }, body: text("job-1") },
    ]);
    await bus.close();
  });

  it("passes non-durable queues straight through, without journaling", async () => {
    const dir = await tempDir();
    const bus = await open(dir);
    await bus.declareQueue("node-a", { durable: false, expiresMs: 60_000 });
    const got = await collect(bus, "node-a");
    await bus.publish("node-a", text("push"), { n: "1" });
    await until(() => got.length === 1);
    expect(got[0]!.headers).toEqual({ n: "1" });
    expect(await recordsIn(dir)).toEqual([]);
    await bus.close();
  });

  it("shows handlers only the publisher's headers, and refuses the journal's own header", async () => {
    const bus = await open(await tempDir());
    await bus.declareQueue("jobs", { durable: true });
    const got = await collect(bus, "jobs");
    await bus.publish("jobs", text("a"), { kind: "p2p" });
    await until(() => got.length === 1);
    expect(got[0]!.headers).toEqual({ kind: "p2p" });
    await expect(bus.publish("jobs", text("b"), { "journal-id": "7" })).rejects.toThrow(/bus journal/);
    await expect(bus.publish("jobs", text("b"), { "Journal-Id": "7" })).rejects.toThrow(/bus journal/);
    await bus.close();
  });

  it("redelivers after a crash what was published and not finished, never what was", async () => {
    const dir = await tempDir();
    const crashed = await open(dir);
    await crashed.declareQueue("jobs", { durable: true });
    let finished = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await crashed.consume("jobs", async (msg) => {
      if (str(msg.body).startsWith("done")) finished++;
      else await held; // does not finish before the "crash"
    });
    await crashed.publish("jobs", text("done-1"));
    await crashed.publish("jobs", text("done-2"));
    await until(() => finished === 2);
    await crashed.publish("jobs", text("open-1"), { n: "1" });
    await sleep(20); // the ACKs of done-* are written (without sync)
    // The crash: nothing is stopped or closed; the first bus is only closed at the end of the test.

    const restarted = await open(dir);
    await restarted.declareQueue("jobs", { durable: true });
    const again = await collect(restarted, "jobs");
    expect(await restarted.whenReplayed(5_000)).toEqual({ replayed: 1, pending: 0, deadLettered: 0 });
    expect(again.map((m) => [str(m.body), m.headers, m.attempt])).toEqual([["open-1", { n: "1" }, 1]]);
    await restarted.close();

    const third = await open(dir); // open-1 was finished on the second run: gone for good
    await third.declareQueue("jobs", { durable: true });
    expect(await third.depth("jobs")).toEqual({ ready: 0, dead: 0 });
    expect(await third.whenReplayed(10)).toEqual({ replayed: 0, pending: 0, deadLettered: 0 });
    await third.close();
    release();
    await crashed.close();
  });

  it("replays in publish order, into the queue once it is declared, and reports a slow replay", async () => {
    const dir = await tempDir();
    const crashed = await open(dir);
    await crashed.declareQueue("jobs", { durable: true });
    await crashed.declareQueue("other", { durable: true });
    for (let i = 0; i < 5; i++) await crashed.publish(i % 2 === 0 ? "jobs" : "other", text(`m${i}`));

    const restarted = await open(dir);
    expect(await restarted.whenReplayed(20)).toEqual({ replayed: 5, pending: 5, deadLettered: 0 });
    await restarted.declareQueue("jobs", { durable: true });
    expect(await restarted.depth("jobs")).toEqual({ ready: 3, dead: 0 });
    const jobs = await collect(restarted, "jobs");
    await until(() => jobs.length === 3);
    expect(jobs.map((m) => str(m.body))).toEqual(["m0", "m2", "m4"]);
    expect(await restarted.whenReplayed(20)).toMatchObject({ pending: 2 });
    await restarted.declareQueue("other", { durable: true });
    const other = await collect(restarted, "other");
    expect(await restarted.whenReplayed(5_000)).toEqual({ replayed: 5, pending: 0, deadLettered: 0 });
    expect(other.map((m) => str(m.body))).toEqual(["m1", "m3"]);
    await restarted.close();
    await crashed.close();
  });

  it("keeps dead letters in the journal: they come back at the next start", async () => {
    const dir = await tempDir();
    const first = await open(dir);
    await first.declareQueue("jobs", { durable: true });
    await first.consume(
      "jobs",
      async () => {
        throw new Error("poison");
      },
      { maxAttempts: 2, retryDelayMs: 5 },
    );
    await first.publish("jobs", text("poison"));
    await until(async () => (await first.depth("jobs")).dead === 1);
    await first.close();

    const second = await open(dir);
    await second.declareQueue("jobs", { durable: true });
    await second.consume(
      "jobs",
      async () => {
        throw new Error("still poison");
      },
      { maxAttempts: 1 },
    );
    // A replayed message that fails every attempt counts as settled: start-up does not wait for it.
    expect(await second.whenReplayed(5_000)).toEqual({ replayed: 1, pending: 0, deadLettered: 1 });
    await second.close();

    const third = await open(dir);
    await third.declareQueue("jobs", { durable: true });
    const got = await collect(third, "jobs");
    expect(await third.whenReplayed(5_000)).toMatchObject({ replayed: 1, pending: 0 });
    expect(got.map((m) => str(m.body))).toEqual(["poison"]);
    await third.close();
  });

  it("stays bounded under load: compaction keeps only unfinished messages", async () => {
    const dir = await tempDir();
    const maxSegmentBytes = 16 * 1024;
    const bus = await open(dir, maxSegmentBytes);
    await bus.declareQueue("jobs", { durable: true });
    let finished = 0;
    await bus.consume(
      "jobs",
      async (msg) => {
        if (str(msg.body).endsWith("-0")) throw new Error("kept"); // dead-lettered, stays in the journal
        finished++;
      },
      { prefetch: 50, maxAttempts: 1 },
    );
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) => bus.publish("jobs", text(`${"x".repeat(200)}-${round}-${i}`))),
      );
    }
    await until(() => finished === 40 * 24);
    await bus.publish("jobs", text("flush")); // one more write: the last ACKs are on disk before it
    await until(() => finished === 40 * 24 + 1);
    const segments = await listSegments(dir);
    expect(segments).toHaveLength(1);
    expect(segments[0]!.number).toBeGreaterThan(3);
    expect((await readFile(segments[0]!.path)).length).toBeLessThan(2 * maxSegmentBytes);
    await bus.close();

    const reopened = await open(dir, maxSegmentBytes);
    await reopened.declareQueue("jobs", { durable: true });
    expect(await reopened.depth("jobs")).toEqual({ ready: 40, dead: 0 }); // the dead letters, back
    await reopened.close();
  });
});
