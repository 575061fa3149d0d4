import { describe, expect, it } from "vitest";
import { MAX_HELD_BYTES, TurnBatch } from "./turn-batch.js";

/** A socket that logs cork/uncork calls. */
function fakeSocket() {
  const log: string[] = [];
  return { log, cork: () => log.push("cork"), uncork: () => log.push("uncork") };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("TurnBatch", () => {
  it("corks once per turn and uncorks when the turn ends, for every socket written", async () => {
    const [a, b] = [fakeSocket(), fakeSocket()];
    const [batchA, batchB] = [new TurnBatch(a), new TurnBatch(b)];
    for (let i = 0; i < 3; i++) {
      batchA.hold();
      batchA.held(10);
    }
    batchB.hold();
    batchB.held(10);
    expect(batchA.heldBytes).toBe(30);
    expect([a.log, b.log]).toEqual([["cork"], ["cork"]]);
    await nextTurn();
    expect([a.log, b.log]).toEqual([
      ["cork", "uncork"],
      ["cork", "uncork"],
    ]);
    expect(batchA.heldBytes).toBe(0);
    // The next turn starts a new batch.
    batchA.hold();
    await nextTurn();
    expect(a.log).toEqual(["cork", "uncork", "cork", "uncork"]);
  });

  it("flushes at once past MAX_HELD_BYTES, and again at the end of the turn", async () => {
    const s = fakeSocket();
    const batch = new TurnBatch(s);
    batch.hold();
    batch.held(MAX_HELD_BYTES - 1);
    expect(s.log).toEqual(["cork"]);
    batch.hold();
    batch.held(1);
    expect(s.log).toEqual(["cork", "uncork"]);
    batch.hold();
    batch.held(5);
    expect(s.log).toEqual(["cork", "uncork", "cork"]);
    await nextTurn();
    expect(s.log).toEqual(["cork", "uncork", "cork", "uncork"]);
  });

  it("does nothing on flush when nothing is held (cork and uncork stay paired)", async () => {
    const s = fakeSocket();
    const batch = new TurnBatch(s);
    batch.flush();
    batch.hold();
    batch.flush();
    batch.flush();
    await nextTurn();
    expect(s.log).toEqual(["cork", "uncork"]);
  });
});
