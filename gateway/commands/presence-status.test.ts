import { describe, expect, it } from "vitest";
import { statusFault } from "./presence-status.js";

describe("4001 customStatus checks", () => {
  it("accepts up to 100 characters, counted as code points", () => {
    expect(statusFault("")).toBeUndefined();
    expect(statusFault("😀".repeat(100))).toBeUndefined();
  });

  it("refuses what the domain would refuse, naming the field", () => {
    expect(statusFault("x".repeat(101))).toBe("customStatus is longer than 100 characters");
    expect(statusFault("a\u0000b")).toBe("customStatus contains a NUL character");
    expect(statusFault("\ud800")).toBe("customStatus contains an unpaired UTF-16 surrogate");
    expect(statusFault(42)).toBe("customStatus must be a string");
  });
});
