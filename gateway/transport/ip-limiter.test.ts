import { describe, expect, it } from "vitest";
import { IpLimiter } from "./ip-limiter.js";

describe("IpLimiter", () => {
  it("admits up to the limit per address and frees slots on release", () => {
    const limiter = new IpLimiter(2);
    expect(limiter.tryAcquire("1.1.1.1")).toBe(true);
    expect(limiter.tryAcquire("1.1.1.1")).toBe(true);
    expect(limiter.tryAcquire("1.1.1.1")).toBe(false);
    expect(limiter.tryAcquire("2.2.2.2")).toBe(true);
    limiter.release("1.1.1.1");
    expect(limiter.count("1.1.1.1")).toBe(1);
    expect(limiter.tryAcquire("1.1.1.1")).toBe(true);
    limiter.release("2.2.2.2");
    expect(limiter.count("2.2.2.2")).toBe(0);
  });
});
