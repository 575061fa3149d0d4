import { describe, expect, it } from "vitest";
import { renderTable } from "./table.js";

describe("renderTable", () => {
  it("aligns numbers right with separators and text left, headers included, as a Markdown table", () => {
    const out = renderTable({
      title: "t",
      rows: [
        { name: "a", rate: 20000, p99: 1.234 },
        { name: "bbbb", rate: 5, p99: 10 },
      ],
    });
    expect(out.split("\n")).toEqual([
      "### t",
      "",
      "| name |   rate |  p99 |",
      "|:-----|-------:|-----:|",
      "| a    | 20,000 | 1.23 |",
      "| bbbb |      5 |   10 |",
    ]);
  });

  it("keeps columns that only some rows have", () => {
    const out = renderTable({ title: "x", rows: [{ a: 1 }, { b: "y" }] });
    expect(out).toContain("|   a | b   |");
    expect(out).toContain("|   1 |     |");
  });
});
