import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cpuShare, loadAverage, sampleByCommand, sampleProcess } from "./proc-stats.js";

describe("sampleProcess", () => {
  it("reads this process's RSS and CPU time from /proc", () => {
    const first = sampleProcess(process.pid);
    expect(first).toBeDefined();
    expect(first?.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    const until = performance.now() + 60;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1); // burn some CPU
    const second = sampleProcess(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(second?.cpuMs).toBeGreaterThanOrEqual(first?.cpuMs ?? Number.POSITIVE_INFINITY);
    if (first && second) expect(cpuShare(first, second)).toBeGreaterThanOrEqual(0);
  });

  it("answers undefined for a process that does not exist", () => {
    expect(sampleProcess(2 ** 30)).toBeUndefined();
  });

  it("reads three load averages", () => {
    const load = loadAverage();
    expect(load).toHaveLength(3);
    for (const v of load) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe("sampleByCommand", () => {
  it("sums the CPU time of processes by command name, zero for names not running", () => {
    const own = readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
    const sample = sampleByCommand([own, "no-such-command-here"]);
    expect(sample[own]).toBeGreaterThan(0);
    expect(sample["no-such-command-here"]).toBe(0);
  });
});
