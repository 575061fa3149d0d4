import { describe, expect, it } from "vitest";
import { ExpiryHeap } from "./expiry-heap.js";

describe("ExpiryHeap", () => {
  it("pops only due entries, earliest first", () => {
    const heap = new ExpiryHeap();
    const deadlines = [50, 10, 40, 30, 20, 60, 10];
    for (const [i, d] of deadlines.entries()) heap.push(d, `k${i}`);
    const popped: number[] = [];
    for (let e = heap.popDue(40); e !== undefined; e = heap.popDue(40)) popped.push(e.deadline);
    expect(popped).toEqual([10, 10, 20, 30, 40]);
    expect(heap.length).toBe(2);
    expect(heap.popDue(49)).toBeUndefined();
    expect(heap.popDue(100)).toEqual({ deadline: 50, key: "k0" });
  });
});
