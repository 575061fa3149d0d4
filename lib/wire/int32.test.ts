import { describe, expect, it } from "vitest";
import { readInt32, writeInt32 } from "./int32.js";

describe("readInt32 / writeInt32", () => {
  const values = [
    0,
    1,
    -1,
    1103,
    9006,
    0x7fffffff,
    -0x80000000,
    2 ** 32 + 5,
    -(2 ** 31) - 1,
    1.5,
    Number.NaN,
  ];

  it.each(values)("writes %d as DataView.setInt32 does, and reads it back as getInt32", (value) => {
    const mine = new Uint8Array(6);
    writeInt32(mine, 1, value);
    const theirs = new Uint8Array(6);
    new DataView(theirs.buffer).setInt32(1, value);
    expect(mine).toEqual(theirs);
    expect(readInt32(mine, 1)).toBe(new DataView(theirs.buffer).getInt32(1));
  });
});
