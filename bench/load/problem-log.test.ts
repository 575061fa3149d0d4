import { describe, expect, it } from "vitest";
import { ProblemLog, summarizeProblems } from "./problem-log.js";

describe("ProblemLog", () => {
  it("groups problems that differ only by user and numbers, most frequent first, across logs", () => {
    const a = new ProblemLog();
    const b = new ProblemLog();
    a.add("dropped u-1: frame-too-large: 150012 > 65536");
    a.add("client error u-3: sync failed");
    b.add("dropped u-2: frame-too-large: 150044 > 65536");
    expect(summarizeProblems([a.drain(), b.drain()])).toEqual([
      "2 × dropped u-1: frame-too-large: 150012 > 65536",
      "1 × client error u-3: sync failed",
    ]);
    expect(a.drain()).toEqual([]);
  });
});
