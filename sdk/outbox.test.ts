import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { ClientError } from "./client-error.js";
import { Outbox, type ResendPolicy, RttEstimator, SEND_RATE_EXCEEDED } from "./outbox.js";

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
    box.ack(P2P_ACK, ackOf("a", 50_002)); // a final refusal (no round-trip sample): b is written now, at 90 ms
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

  it("frees the slot of a send that ran out of attempts, failing it as unknown (it may be stored)", async () => {
    const box = outbox(1, { maxAttempts: 2 });
    const outcome = addAll(box, ["a", "b"]);
    await vi.advanceTimersByTimeAsync(100 + 200);
    expect(outcome.get("a")).toBe("unknown");
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

/** A refusal for rate (60006) of `id`, with the gateway's hint. */
function rateRefusal(id: string, retryAfterMs?: number): MessageAck {
  wire.answered(id);
  return {
    code: SEND_RATE_EXCEEDED,
    msg: "too fast",
    ok: false,
    data: { messageId: id, retryAfterMs },
  } as MessageAck;
}

describe("Outbox after a rate refusal (60006)", () => {
  it("holds every write for the hint, then resends the refused in call order, then the queue", async () => {
    const box = outbox(4, { initialMs: 10_000 }); // no timed resend in the way
    const outcome = addAll(box, ids(0, 6));
    expect(wire.writes).toEqual(ids(0, 4));
    box.ack(P2P_ACK, ackOf("m0"));
    expect(wire.writes).toEqual(ids(0, 5)); // m4 took m0's slot
    // m2 refused first, then m1 (answers may come in any order), m3 accepted meanwhile.
    expect(box.ack(P2P_ACK, rateRefusal("m2", 300))).toBe(true);
    expect(box.ack(P2P_ACK, rateRefusal("m1", 200))).toBe(true);
    expect(box.holding).toBe(true);
    box.ack(P2P_ACK, ackOf("m3")); // frees a slot, but nothing is written while held
    expect(wire.writes).toEqual(ids(0, 5));
    vi.advanceTimersByTime(299);
    expect(wire.writes).toEqual(ids(0, 5));
    vi.advanceTimersByTime(1);
    // The longest hint has passed: m1, m2 again, in call order, then m5 from the queue.
    expect(wire.writes.slice(5)).toEqual(["m1", "m2", "m5"]);
    expect(box.holding).toBe(false);
    for (const id of ["m1", "m2", "m4", "m5"]) box.ack(P2P_ACK, ackOf(id));
    await vi.runAllTimersAsync();
    expect([...outcome.values()]).toEqual(Array(6).fill("ok"));
    expect(box.size).toBe(0);
  });

  it("writes a send whose resend fell due during the hold with the refused ones, in its place", () => {
    const box = outbox(3);
    addAll(box, ["a", "b", "c"]);
    vi.advanceTimersByTime(50);
    box.ack(P2P_ACK, rateRefusal("b", 100)); // held until 150 ms; a's resend is due at 100 ms
    vi.advanceTimersByTime(60);
    expect(wire.writes).toEqual(["a", "b", "c"]);
    vi.advanceTimersByTime(40);
    expect(wire.writes).toEqual(["a", "b", "c", "a", "b", "c"]); // c was due at 100 ms as well
  });

  it("does not count a refused write as an attempt: the resend waits for its ACK afresh", async () => {
    const box = outbox(1, { maxAttempts: 2 });
    const outcome = addAll(box, ["a"]);
    vi.advanceTimersByTime(99);
    box.ack(P2P_ACK, rateRefusal("a", 10)); // its first write was answered, with a refusal
    await vi.advanceTimersByTimeAsync(10 + 100);
    expect(wire.writes).toEqual(["a", "a", "a"]); // the resend, then its one timed resend
    expect(outcome.get("a")).toBeUndefined();
  });

  it("fails a send still refused for rate after maxRateLimitedMs, with the refusal's code", async () => {
    const box = outbox(1, { maxRateLimitedMs: 1_000 });
    const failed = box.add("a", P2P_ACK, frame("a")).catch((e: ClientError) => e);
    for (let t = 0; t <= 1_000; t += 500) {
      box.ack(P2P_ACK, rateRefusal("a", 500));
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(box.has("a")).toBe(true); // refused at 0, 500 and 1000 ms: not past the limit yet
    box.ack(P2P_ACK, rateRefusal("a", 500)); // 1500 ms
    const error = (await failed) as ClientError;
    expect(error.reason).toBe("refused");
    expect(error.code).toBe(SEND_RATE_EXCEEDED);
    expect(box.size).toBe(0);
    expect(box.holding).toBe(false); // a final refusal holds nothing
    expect(wire.writes).toEqual(["a", "a", "a", "a"]);
  });

  it("ends the hold at a reconnect: flush rewrites the whole window at once", () => {
    const box = outbox(2);
    addAll(box, ["a", "b", "c"]);
    box.ack(P2P_ACK, rateRefusal("a", 5_000));
    wire.online = false;
    box.pause();
    wire.online = true;
    wire.writes.length = 0;
    box.flush();
    expect(box.holding).toBe(false);
    expect(wire.writes).toEqual(["a", "b"]);
  });
});

describe("RttEstimator", () => {
  it("starts at the floor, then follows SRTT + 4·RTTVAR within the floor and the cap", () => {
    const rtt = new RttEstimator();
    expect(rtt.rto(2_000, 16_000)).toBe(2_000); // no sample yet
    rtt.sample(100); // srtt 100, rttvar 50 → 300: below the floor
    expect(rtt.srtt).toBe(100);
    expect(rtt.rto(2_000, 16_000)).toBe(2_000);
    expect(rtt.rto(10, 16_000)).toBe(300);
    rtt.sample(4_100); // rttvar 0.75·50 + 0.25·4000 = 1037.5; srtt 0.875·100 + 0.125·4100 = 600
    expect(rtt.srtt).toBe(600);
    expect(rtt.rto(2_000, 16_000)).toBe(600 + 4 * 1_037.5);
    for (let i = 0; i < 20; i++) rtt.sample(20_000);
    expect(rtt.rto(2_000, 16_000)).toBe(16_000); // capped
  });
});

describe("Outbox resend timing and final outcomes", () => {
  const slow: Partial<ResendPolicy> = {
    initialMs: 100,
    maxMs: 60_000,
    maxAttempts: Number.POSITIVE_INFINITY,
  };

  it("learns the ACK latency from ACKs: the next send's first resend waits the learnt timeout", () => {
    const box = outbox(10, slow);
    for (const id of ["s0", "s1", "s2"]) {
      addAll(box, [id]);
      vi.advanceTimersByTime(90); // answered within the 100 ms floor: written once, a sample
      box.ack(P2P_ACK, ackOf(id));
    }
    const expected = new RttEstimator();
    for (let i = 0; i < 3; i++) expected.sample(90);
    expect(box.rtt.srtt).toBe(90);
    const rto = box.rto();
    expect(rto).toBe(expected.rto(100, 60_000));
    expect(rto).toBeGreaterThan(100);
    addAll(box, ["a"]);
    wire.writes.length = 0;
    vi.advanceTimersByTime(rto - 1);
    expect(wire.writes).toEqual([]); // the floor (100 ms) has passed, the learnt timeout not
    vi.advanceTimersByTime(1);
    expect(wire.writes).toEqual(["a"]);
  });

  it("waits longer before resending once ACKs are slow, doubling per resend", async () => {
    const box = outbox(10, { ...slow, maxMs: 60_000 });
    const rtt = box.rtt; // ACKs of sends written once, 1 s after their write

    rtt.sample(1_000);
    rtt.sample(1_000);
    rtt.sample(1_000); // srtt 1000, rttvar 0.75·(0.75·500)=281.25 → rto 2125
    const rto = box.rto();
    expect(rto).toBe(1_000 + 4 * 281.25);
    addAll(box, ["a"]);
    vi.advanceTimersByTime(rto - 1);
    expect(wire.writes).toEqual(["a"]);
    vi.advanceTimersByTime(1);
    expect(wire.writes).toEqual(["a", "a"]);
    vi.advanceTimersByTime(2 * rto - 1);
    expect(wire.writes).toEqual(["a", "a"]);
    vi.advanceTimersByTime(1);
    expect(wire.writes).toEqual(["a", "a", "a"]);
  });

  it("takes an ACK of a send written once as a round trip, not one of a resent send (Karn)", () => {
    const box = outbox(10, { ...slow, maxMs: 60_000 });
    addAll(box, ["a"]);
    vi.advanceTimersByTime(50);
    box.ack(P2P_ACK, ackOf("a"));
    expect(box.rtt.srtt).toBe(50);
    addAll(box, ["b"]);
    vi.advanceTimersByTime(5_000); // resent several times
    box.ack(P2P_ACK, ackOf("b"));
    expect(box.rtt.srtt).toBe(50); // no sample: the ACK may answer any write
  });

  it("keeps resending one send until maxPendingMs after its first write, then fails it as unknown", async () => {
    const box = outbox(2, { ...slow, maxMs: 800, maxPendingMs: 5_000 });
    const outcome = addAll(box, ["a", "b"]);
    box.ack(P2P_ACK, ackOf("b"));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(outcome.get("a")).toBeUndefined();
    // 100, 200, 400, 800, 800, … ms apart: 0, 100, 300, 700, 1500, 2300, 3100, 3900, 4700.
    expect(wire.writes.filter((w) => w === "a")).toHaveLength(9);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome.get("a")).toBe("unknown");
    expect(box.size).toBe(0);
    expect(wire.writes.filter((w) => w === "a")).toHaveLength(9); // nothing written at the deadline
  });

  it("fails a written send as unknown at its deadline also while offline, keeping unwritten ones queued", async () => {
    const box = outbox(1, { ...slow, maxPendingMs: 1_000 });
    const outcome = addAll(box, ["a", "b"]);
    wire.online = false;
    box.pause();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcome.get("a")).toBe("unknown");
    expect(outcome.get("b")).toBeUndefined(); // never written: not stored, waits for the connection
    await vi.advanceTimersByTimeAsync(60_000);
    expect(outcome.get("b")).toBeUndefined();
    wire.online = true;
    box.flush();
    expect(wire.writes).toEqual(["a", "b"]);
  });

  it("fails a refused-for-rate send as refused only if no write of it can have been stored", async () => {
    const box = outbox(2, { ...slow, maxRateLimitedMs: 500 });
    const timedOut = box.add("b", P2P_ACK, frame("b")).catch((e: ClientError) => e);
    await vi.advanceTimersByTimeAsync(100); // b's first write went unanswered: b is resent
    const clean = box.add("a", P2P_ACK, frame("a")).catch((e: ClientError) => e);
    expect(wire.writes).toEqual(["b", "b", "a"]);
    for (let t = 0; t <= 600; t += 300) {
      box.ack(P2P_ACK, rateRefusal("a", 300));
      box.ack(P2P_ACK, rateRefusal("b", 300));
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(await clean).toMatchObject({ reason: "refused", code: SEND_RATE_EXCEEDED });
    expect(await timedOut).toMatchObject({ reason: "unknown" });
  });

  it("keeps a send answered with a retryable code pending, and its final failure is unknown", async () => {
    const box = outbox(1, { ...slow, maxPendingMs: 1_000 });
    const outcome = addAll(box, ["a"]);
    box.ack(P2P_ACK, ackOf("a", 90_000)); // e.g. past the gateway's deadline: the domain may have run it
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcome.get("a")).toBe("unknown");
  });
});
