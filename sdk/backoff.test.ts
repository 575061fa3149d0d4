import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay with full jitter (jitter 1)", () => {
  const policy = { initialMs: 2_000, maxMs: 30_000, factor: 2, jitter: 1 };

  it("draws from 0 to twice the step, evenly, and never below 0", () => {
    expect(backoffDelay(policy, 0, () => 0)).toBe(0);
    expect(backoffDelay(policy, 0, () => 0.25)).toBe(1_000);
    expect(backoffDelay(policy, 0, () => 0.5)).toBe(2_000);
    expect(backoffDelay(policy, 0, () => 1)).toBe(4_000);
    expect(backoffDelay(policy, 3, () => 1)).toBe(32_000);
    expect(backoffDelay(policy, 20, () => 1)).toBe(60_000); // the step stops at maxMs
  });

  it("spreads clients that failed together over the whole window", () => {
    // 1 000 clients refused at the same moment: their first retries cover [0, 4 s] evenly, so
    // no second of it gets much more than its share (a ±20 % jitter packs them into 1.6 s).
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const perSecond = [0, 0, 0, 0];
    for (let i = 0; i < 1_000; i++) {
      const second = Math.min(3, Math.floor(backoffDelay(policy, 0, random) / 1_000));
      perSecond[second] = (perSecond[second] as number) + 1;
    }
    for (const n of perSecond) expect(n).toBeGreaterThan(200);
    for (const n of perSecond) expect(n).toBeLessThan(300);
  });
});
