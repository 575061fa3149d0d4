import { describe, expect, it } from "vitest";
import { Deque } from "./deque.js";

describe("Deque", () => {
  it("keeps FIFO order across wrap-around and growth", () => {
    const d = new Deque<number>(2);
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head walks around the ring while it grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) d.push(next++);
      out.push(d.shift()!);
    }
    while (d.length > 0) out.push(d.shift()!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(d.shift()).toBeUndefined();
  });

  it("unshift puts items back at the head, and drain empties in order", () => {
    const d = new Deque<string>(2);
    d.push("c");
    d.push("d");
    d.unshift("b");
    d.unshift("a");
    expect(d.length).toBe(4);
    expect(d.drain()).toEqual(["a", "b", "c", "d"]);
    expect(d.length).toBe(0);
  });
});
