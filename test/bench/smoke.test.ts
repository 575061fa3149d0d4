import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { runBench } from "../../bench/bench.js";
import { parseBenchArgs } from "../../bench/cli.js";
import type { HistogramData } from "../../bench/lib/histogram.js";
import { Progress } from "../../bench/lib/progress.js";
import type { BenchReport } from "../../bench/lib/report.js";
import type { P2PResult } from "../../bench/load/agent-protocol.js";

/**
 * A short run of every benchmark scenario (seconds, small N) against the embedded profile, so the
 * harness keeps working. It checks correctness counts only (nothing lost, refused, duplicated or
 * out of order), never speed: this box is shared, its numbers belong in bench/RESULTS.md.
 */

const out = mkdtempSync(join(tmpdir(), "whaleshark-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const quiet = new Progress(
  new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream,
);

function bench(args: string): Promise<BenchReport> {
  const options = parseBenchArgs([...args.split(" "), "--out", out, "--log-level", "warn"]);
  return runBench(options, `smoke ${args}`, quiet);
}

interface FanOut {
  sent: number;
  acked: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  failures: Record<string, number>;
}

describe("bench smoke (embedded)", () => {
  it("idle: every connection logs in and stays up", { timeout: 180_000 }, async () => {
    // One forked load generator and two source addresses, so those paths run in CI too.
    const report = await bench("idle --connections 200 --hold 2 --workers 1 --source-ips 2");
    const idle = report.data.idle as { opened: { opened: number; failed: number }; dropped: number };
    expect(idle.opened).toMatchObject({ opened: 200, failed: 0 });
    expect(idle.dropped).toBe(0);
    expect(report.tables[0]?.rows[0]?.connections).toBe(200);
  });

  it("p2p: nothing lost, refused, duplicated or out of order", { timeout: 180_000 }, async () => {
    const report = await bench(
      "p2p --pairs 10 --rate 100 --duration 2 --drain 10 --phases fixed --transport tcp",
    );
    const [fixed] = report.data.steps as Array<{ result: P2PResult }>;
    const r = fixed?.result as P2PResult;
    expect(r.failures).toEqual({});
    expect(r.sent).toBe(200);
    expect(r).toMatchObject({
      acked: 200,
      delivered: 200,
      lost: 0,
      unacked: 0,
      duplicated: 0,
      outOfOrder: 0,
    });
    expect(r.skipped).toBe(0);
    expect((r.deliver as HistogramData).count).toBe(200);
  });

  it("one-conn: one connection, nothing lost, duplicated or out of order", { timeout: 180_000 }, async () => {
    // As fast as a window of 8 allows, then a fixed rate past a window of 2 (the SDK queues).
    for (const args of ["--window 8", "--window 2 --rate 100"]) {
      const report = await bench(`one-conn --conversations 5 ${args} --duration 2 --warmup 0 --drain 10`);
      const r = (report.data.step as { result: P2PResult }).result;
      expect(r.failures).toEqual({});
      expect(r.sent).toBeGreaterThan(0);
      expect(r).toMatchObject({
        acked: r.sent,
        delivered: r.sent,
        lost: 0,
        unacked: 0,
        skipped: 0,
        duplicated: 0,
        outOfOrder: 0,
        sequenceOutOfOrder: 0,
      });
    }
  });

  it("flood: the other users lose nothing beside a flood, which is refused for rate", {
    timeout: 180_000,
  }, async () => {
    const report = await bench("flood --pairs 4 --rate 40 --duration 2 --warmup 0 --drain 10 --flood 500");
    const steps = report.data.steps as Array<{ phase: string; result: P2PResult }>;
    expect(steps.map((s) => s.phase)).toEqual(["without flood", "with flood"]);
    for (const { result } of steps) {
      expect(result.failures).toEqual({});
      expect(result).toMatchObject({ acked: result.sent, delivered: result.sent, lost: 0, duplicated: 0 });
    }
    const flood = report.data.flood as {
      accepted: number;
      refused: number;
      answered: number;
      written: number;
    };
    expect(flood.refused).toBeGreaterThan(0);
    expect(flood.accepted + flood.refused).toBe(flood.answered);
  });

  it("group: every online member gets every message once", { timeout: 180_000 }, async () => {
    const report = await bench("group --members 40 --online 8 --rate 5 --duration 2 --drain 10");
    const g = report.data.group as FanOut;
    expect(g.failures).toEqual({});
    expect(g.acked).toBe(10);
    expect(g).toMatchObject({ expected: 70, delivered: 70, lost: 0, duplicated: 0 });
  });

  it("baseline: bare and gateway echo and broadcast all complete", { timeout: 240_000 }, async () => {
    const report = await bench(
      "baseline --connections 4 --window 2 --online 5 --rate 10 --duration 2 --drain 10",
    );
    const echo = report.data.echo as Record<"bare" | "gatewayLocal", { completed: number; errors: number }>;
    expect(echo.bare.completed).toBeGreaterThan(0);
    expect(echo.bare.errors).toBe(0);
    expect(echo.gatewayLocal.completed).toBeGreaterThan(0);
    expect(echo.gatewayLocal.errors).toBe(0);
    const chat = (report.data.chatEcho as { value: P2PResult }).value;
    expect(chat.failures).toEqual({});
    expect(chat.acked).toBeGreaterThan(0);
    expect(chat).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0 });
    const bare = report.data.bareBroadcast as FanOut;
    expect(bare).toMatchObject({ sent: 20, delivered: 100, lost: 0, duplicated: 0 });
    const group = report.data.groupBroadcast as FanOut;
    expect(group.failures).toEqual({});
    expect(group).toMatchObject({ acked: 20, delivered: 100, lost: 0, duplicated: 0 });
    expect(report.notes).toEqual([]);
  });
});
