import { describe, expect, it } from "vitest";
import { ProblemLog } from "./problem-log.js";

describe("ProblemLog", () => {
  it("groups problems that differ only by user and numbers, most frequent first, and empties", () => {
    const log = new ProblemLog();
    log.add("dropped u-1: frame-too-large: 150012 > 65536");
    log.add("dropped u-2: frame-too-large: 150044 > 65536");
    log.add("client error u-3: sync failed");
    expect(log.drain()).toEqual([
      "2 × dropped u-1: frame-too-large: 150012 > 65536",
      "1 × client error u-3: sync failed",
    ]);
    expect(log.drain()).toEqual([]);
  });
});
