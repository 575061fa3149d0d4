import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { ClientError } from "./client-error.js";
import { Outbox, type ResendPolicy } from "./outbox.js";

const POLICY: ResendPolicy = {
  initialMs: 100,
  maxMs: 1_000,
  factor: 2,
  jitter: 0,
  maxAttempts: 3,
  retryableCodes: [90_000],
};
const P2P_ACK = 1046;

/** A fake connection: records every written frame (as its messageId) and can go offline. */
class Wire {
  online = true;
  readonly writes: string[] = [];
  /** The most frames written and not yet answered at any moment. */
  peak = 0;
  readonly #open = new Set<string>();

  readonly write = (frame: Uint8Array): boolean => {
    if (!this.online) return false;
    const id = new TextDecoder().decode(frame);
    this.writes.push(id);
    this.#open.add(id);
    this.peak = Math.max(this.peak, this.#open.size);
    return true;
  };

  answered(id: string): void {
    this.#open.delete(id);
  }
}

let wire: Wire;
const frame = (id: string) => new TextEncoder().encode(id);
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

function outbox(maxInFlight: number, policy: Partial<ResendPolicy> = {}) {
  return new Outbox({ ...POLICY, ...policy }, wire.write, { maxInFlight, random: () => 0.5 });
}

/** Adds every id; returns how each settled ("ok" or the ClientError reason), by id. */
function addAll(box: Outbox, list: string[]) {
  const outcome = new Map<string, string>();
  for (const id of list) {
    box.add(id, P2P_ACK, frame(id)).then(
      () => outcome.set(id, "ok"),
      (e: ClientError) => outcome.set(id, e.reason),
    );
  }
  return outcome;
}

function ackOf(id: string, code = 200): MessageAck {
  wire.answered(id);
  return {
    code,
    msg: code === 200 ? "success" : "down",
    ok: code === 200,
    data: { messageId: id, messageKey: 1, messageSequence: 1 },
  } as MessageAck;
}

beforeEach(() => {
  vi.useFakeTimers();
  wire = new Wire();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Outbox send window", () => {
  it("writes at most maxInFlight frames, queues the rest unwritten, in call order", () => {
    const box = outbox(4);
    addAll(box, ids(0, 10));
    expect(wire.writes).toEqual(ids(0, 4));
    expect(box.size).toBe(10);
    expect(box.inFlight).toBe(4);
    expect(box.queued).toBe(6);
    expect(box.has("m9")).toBe(true);
  });

  it("lets ACKs free slots, writing the queue in call order, never past the bound", async () => {
    const box = outbox(3);
    const outcome = addAll(box, ids(0, 20));
    // Answer in a scrambled order: whichever slot frees, the next queued send takes it.
    for (let round = 0; round < 40 && box.size > 0; round++) {
      const open = wire.writes.filter((id) => box.has(id));
      const pick = open[(round * 7) % open.length] as string;
      expect(box.ack(P2P_ACK, ackOf(pick))).toBe(true);
    }
    await vi.runAllTimersAsync();
    expect(box.size).toBe(0);
    expect(wire.writes).toEqual(ids(0, 20)); // each written once, in call order
    expect(wire.peak).toBe(3);
    expect([...outcome.values()].every((o) => o === "ok")).toBe(true);
  });

  it("starts a queued send's resend timer at its real write", () => {
    const box = outbox(1);
    addAll(box, ["a", "b"]);
    vi.advanceTimersByTime(90);
    box.ack(P2P_ACK, ackOf("a")); // b is written now, at 90 ms
    expect(wire.writes).toEqual(["a", "b"]);
    vi.advanceTimersByTime(99);
    expect(wire.writes).toEqual(["a", "b"]); // its first resend is due 100 ms after its write
    vi.advanceTimersByTime(1);
    expect(wire.writes).toEqual(["a", "b", "b"]);
  });

  it("keeps the slot of a send refused with a retryable code, frees it on a final answer", async () => {
    const box = outbox(2);
    const outcome = addAll(box, ["a", "b", "c"]);
    expect(box.ack(P2P_ACK, ackOf("a", 90_000))).toBe(true);
    expect(wire.writes).toEqual(["a", "b"]); // c still waits
    expect(box.queued).toBe(1);
    vi.advanceTimersByTime(100); // a is resent in its slot
    expect(wire.writes).toEqual(["a", "b", "a", "b"]);
    box.ack(P2P_ACK, ackOf("b", 50_002)); // final refusal: b's slot goes to c
    expect(wire.writes.at(-1)).toBe("c");
    expect(box.inFlight).toBe(2);
    await Promise.resolve();
    expect(outcome.get("b")).toBe("refused");
  });

  it("frees the slot of a send that ran out of attempts", async () => {
    const box = outbox(1, { maxAttempts: 2 });
    const outcome = addAll(box, ["a", "b"]);
    await vi.advanceTimersByTimeAsync(100 + 200);
    expect(outcome.get("a")).toBe("ack-timeout");
    expect(wire.writes).toEqual(["a", "a", "b"]);
  });

  it("rejects queued sends as well when failing all, in call order, writing nothing more", async () => {
    const box = outbox(2);
    const order: string[] = [];
    for (const id of ids(0, 5)) box.add(id, P2P_ACK, frame(id)).catch(() => order.push(id));
    box.failAll(new ClientError("closed"));
    await vi.runAllTimersAsync();
    expect(order).toEqual(ids(0, 5));
    expect(wire.writes).toEqual(ids(0, 2));
    expect(box.size).toBe(0);
    expect(box.queued).toBe(0);
  });

  it("keeps the queue across a disconnect; flush rewrites the window first, then the queue", () => {
    const box = outbox(2);
    addAll(box, ["a", "b", "c", "d"]);
    wire.online = false;
    box.pause();
    vi.advanceTimersByTime(10_000); // no resends, no attempts spent while offline
    box.ack(P2P_ACK, ackOf("a")); // its ACK was already on the way: the slot goes to c, unwritten
    expect(box.queued).toBe(1);
    addAll(box, ["e"]);
    wire.online = true;
    wire.writes.length = 0;
    box.flush();
    expect(wire.writes).toEqual(["b", "c"]);
    box.ack(P2P_ACK, ackOf("b"));
    box.ack(P2P_ACK, ackOf("c"));
    expect(wire.writes).toEqual(["b", "c", "d", "e"]);
  });

  it("drops a queued send that is refused before its turn, and its ACK resolves it", async () => {
    const box = outbox(1);
    const outcome = addAll(box, ["a", "b", "c"]);
    expect(box.refuse("b", new ClientError("refused", { code: 60_005, msg: "x" }))).toBe(true);
    box.ack(P2P_ACK, ackOf("a"));
    expect(wire.writes).toEqual(["a", "c"]);
    await Promise.resolve();
    expect(outcome.get("b")).toBe("refused");
  });

  it("takes an integer bound ≥ 1 or Infinity", () => {
    expect(() => outbox(0)).toThrow(RangeError);
    expect(() => outbox(1.5)).toThrow(RangeError);
    expect(() => outbox(Number.POSITIVE_INFINITY)).not.toThrow();
  });
});
