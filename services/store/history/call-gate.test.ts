import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { CallGate, callIsGone, type Refusal } from "./call-gate.js";

/** A stand-in for grpc-js's ServerUnaryCall: cancellable, with a deadline. */
class FakeCall extends EventEmitter {
  cancelled = false;
  constructor(private deadline: number = Number.POSITIVE_INFINITY) {
    super();
  }
  getDeadline(): number {
    return this.deadline;
  }
  expire(): void {
    this.deadline = Date.now() - 1;
  }
  cancel(): void {
    this.cancelled = true;
    this.emit("cancelled");
  }
}

/** A gate and a log of what it started and refused. */
function harness(running: number, waiting: number) {
  const gate = new CallGate({ running, waiting });
  const started: string[] = [];
  const refused: Array<[string, Refusal]> = [];
  const releases = new Map<string, () => void>();
  const admit = (name: string, call = new FakeCall()) => {
    gate.admit(
      call,
      (release) => {
        started.push(name);
        releases.set(name, release);
      },
      (why) => refused.push([name, why]),
    );
    return call;
  };
  const release = (name: string) => releases.get(name)?.();
  return { gate, started, refused, admit, release };
}

describe("callIsGone", () => {
  it("is true for a cancelled call or one past its deadline, false otherwise", () => {
    expect(callIsGone({ cancelled: false, getDeadline: () => Number.POSITIVE_INFINITY })).toBe(false);
    expect(callIsGone({ cancelled: true, getDeadline: () => Number.POSITIVE_INFINITY })).toBe(true);
    expect(callIsGone({ cancelled: false, getDeadline: () => new Date(Date.now() + 60_000) })).toBe(false);
    expect(callIsGone({ cancelled: false, getDeadline: () => new Date(Date.now() - 1) })).toBe(true);
    expect(callIsGone({ cancelled: false, getDeadline: () => 1_000 }, 1_000)).toBe(true);
  });
});

describe("CallGate", () => {
  it("runs up to `running` calls at once and starts waiting ones in arrival order as turns free", () => {
    const h = harness(2, 10);
    for (const name of ["a", "b", "c", "d"]) h.admit(name);
    expect(h.started).toEqual(["a", "b"]);
    expect([h.gate.running, h.gate.waiting]).toEqual([2, 2]);
    h.release("b");
    expect(h.started).toEqual(["a", "b", "c"]);
    h.release("b"); // a second release of the same call frees nothing more
    expect(h.started).toEqual(["a", "b", "c"]);
    h.release("a");
    expect(h.started).toEqual(["a", "b", "c", "d"]);
    expect(h.refused).toEqual([]);
  });

  it("never starts a call that arrives cancelled or past its deadline", () => {
    const h = harness(2, 10);
    const late = new FakeCall(Date.now() - 1);
    h.admit("late", late);
    const cancelled = new FakeCall();
    cancelled.cancelled = true;
    h.admit("cancelled", cancelled);
    expect(h.started).toEqual([]);
    expect(h.refused).toEqual([
      ["late", "gone"],
      ["cancelled", "gone"],
    ]);
    expect(h.gate.running).toBe(0);
  });

  it("drops a waiting call whose deadline passed before its turn, without starting it", () => {
    const h = harness(1, 10);
    h.admit("first");
    const expiring = h.admit("expiring", new FakeCall(Date.now() + 60_000));
    h.admit("next");
    expiring.expire();
    h.release("first");
    expect(h.started).toEqual(["first", "next"]);
    expect(h.refused).toEqual([["expiring", "gone"]]);
  });

  it("refuses a waiting call as soon as its caller cancels, freeing its place in the queue", () => {
    const h = harness(1, 1);
    h.admit("first");
    const waiting = h.admit("waiting");
    waiting.cancel();
    expect(h.refused).toEqual([["waiting", "gone"]]);
    expect(h.gate.waiting).toBe(0);
    h.admit("other"); // the freed place takes another call
    h.release("first");
    expect(h.started).toEqual(["first", "other"]);
    expect(h.refused).toEqual([["waiting", "gone"]]);
  });

  it("refuses at once as busy when `waiting` live calls wait already, after dropping gone ones", () => {
    const h = harness(1, 2);
    h.admit("first");
    const a = h.admit("a", new FakeCall(Date.now() + 60_000));
    h.admit("b");
    h.admit("c");
    expect(h.refused).toEqual([["c", "busy"]]);
    a.expire(); // no event: found gone when the queue is full
    h.admit("d");
    expect(h.refused).toEqual([
      ["c", "busy"],
      ["a", "gone"],
    ]);
    h.release("first");
    h.release("b");
    expect(h.started).toEqual(["first", "b", "d"]);
  });

  it("does not let a new call overtake calls that already wait", () => {
    const h = harness(1, 10);
    h.admit("first");
    h.admit("waiting");
    h.release("first");
    h.admit("newcomer");
    expect(h.started).toEqual(["first", "waiting"]);
    h.release("waiting");
    expect(h.started).toEqual(["first", "waiting", "newcomer"]);
  });

  it("rejects limits that could never run a call", () => {
    expect(() => new CallGate({ running: 0, waiting: 1 })).toThrow(RangeError);
    expect(() => new CallGate({ running: 1, waiting: -1 })).toThrow(RangeError);
  });
});
