import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import {
  callSignal,
  DeadlineExceeded,
  deadlineOf,
  inChunks,
  isDeadlineExceeded,
  yieldTurn,
} from "./deadline.js";

/** A call as grpc-js hands it to a handler: a deadline and a `cancelled` event. */
function call(deadline: Date | number | undefined) {
  const c = new EventEmitter() as EventEmitter & { getDeadline?: () => Date | number };
  if (deadline !== undefined) c.getDeadline = () => deadline;
  return c;
}

describe("callSignal", () => {
  it("reads grpc-js deadlines (Date, epoch ms, Infinity) and calls without one", () => {
    expect(deadlineOf(call(new Date(5_000)))).toBe(5_000);
    expect(deadlineOf(call(7_000))).toBe(7_000);
    expect(deadlineOf(call(Number.POSITIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
    expect(deadlineOf(call(undefined))).toBe(Number.POSITIVE_INFINITY);
  });

  it("is aborted at once when the deadline has passed", () => {
    const { signal } = callSignal(call(Date.now() - 1));
    expect(signal.aborted).toBe(true);
    expect(isDeadlineExceeded(signal.reason)).toBe(true);
    expect(() => signal.throwIfAborted()).toThrow(DeadlineExceeded);
  });

  it("aborts when the deadline passes, or when the call is cancelled first", async () => {
    const late = callSignal(call(Date.now() + 30));
    expect(late.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect((late.signal.reason as DeadlineExceeded).why).toBe("deadline");

    const c = call(Date.now() + 60_000);
    const cancelled = callSignal(c);
    c.emit("cancelled");
    expect((cancelled.signal.reason as DeadlineExceeded).why).toBe("cancelled");
    cancelled.dispose();
    expect(c.listenerCount("cancelled")).toBe(0);
  });

  it("recognises the reason through error causes (e.g. a rolled-back transaction's error)", () => {
    expect(isDeadlineExceeded(new Error("tx", { cause: new DeadlineExceeded("deadline") }))).toBe(true);
    expect(isDeadlineExceeded(new Error("other"))).toBe(false);
  });
});

describe("inChunks", () => {
  it("lets other work run between chunks", async () => {
    const events: string[] = [];
    const work = inChunks([1, 2, 3, 4], 2, undefined, async (chunk) => {
      events.push(`chunk ${chunk.join(",")}`);
      setImmediate(() => events.push("other"));
    });
    await work;
    expect(events).toEqual(["chunk 1,2", "other", "chunk 3,4"]);
  });

  it("does nothing for an aborted signal and stops between chunks once it aborts", async () => {
    const controller = new AbortController();
    controller.abort(new DeadlineExceeded("deadline"));
    let ran = 0;
    await expect(inChunks([1], 1, controller.signal, async () => void ran++)).rejects.toThrow(
      DeadlineExceeded,
    );
    expect(ran).toBe(0);

    const later = new AbortController();
    await expect(
      inChunks([1, 2, 3], 1, later.signal, async () => {
        ran++;
        later.abort(new DeadlineExceeded("cancelled"));
      }),
    ).rejects.toThrow(DeadlineExceeded);
    expect(ran).toBe(1);
    await expect(yieldTurn(later.signal)).rejects.toThrow(DeadlineExceeded);
  });
});
