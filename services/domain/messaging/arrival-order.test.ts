import { describe, expect, it } from "vitest";
import { ArrivalOrder } from "./arrival-order.js";

describe("ArrivalOrder", () => {
  it("lets a conversation's turns through in the order they were taken, other conversations at once", async () => {
    const order = new ArrivalOrder();
    const passed: string[] = [];
    const a1 = order.enter("a");
    const a2 = order.enter("a");
    const b1 = order.enter("b");
    void a2.ready.then(() => passed.push("a2"));
    void b1.ready.then(() => passed.push("b1"));
    await a1.ready;
    passed.push("a1");
    await new Promise((r) => setTimeout(r, 0));
    expect(passed.sort()).toEqual(["a1", "b1"]); // a2 still waits
    a1.leave();
    await a2.ready;
    await new Promise((r) => setTimeout(r, 0));
    expect(passed).toEqual(["a1", "b1", "a2"]);
    a2.leave();
    b1.leave();
    await new Promise((r) => setTimeout(r, 0));
    expect(order.size).toBe(0);
  });

  it("keeps later turns waiting for an earlier one even when a turn between them left early", async () => {
    const order = new ArrivalOrder();
    const first = order.enter("c");
    const second = order.enter("c");
    const third = order.enter("c");
    second.leave(); // e.g. a retry answered from kv before its turn came
    let thirdReady = false;
    void third.ready.then(() => {
      thirdReady = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(thirdReady).toBe(false);
    first.leave();
    await third.ready;
    expect(thirdReady).toBe(true);
  });
});
