import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";
import { LruSet } from "./lru-set.js";

describe("LruSet", () => {
  it("reports duplicates and forgets the least recently seen key past its capacity", () => {
    const set = new LruSet<number>(3);
    expect([set.add(1), set.add(2), set.add(3)]).toEqual([true, true, true]);
    expect(set.add(1)).toBe(false); // duplicate, and now the most recent
    expect(set.add(4)).toBe(true); // evicts 2, the least recently seen
    expect(set.size).toBe(3);
    expect([set.has(1), set.has(2), set.has(3), set.has(4)]).toEqual([true, false, true, true]);
  });

  it("refuses a capacity below one", () => {
    expect(() => new LruSet(0)).toThrowError(RangeError);
  });
});

describe("backoffDelay", () => {
  const policy = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 };

  it("doubles from initialMs up to maxMs without jitter", () => {
    const delays = [0, 1, 2, 3, 4, 10].map((n) => backoffDelay({ ...policy, jitter: 0 }, n));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("spreads by ±jitter around the base delay", () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(100);
    expect(backoffDelay(policy, 1, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 1, () => 1)).toBe(300);
  });
});
