import { describe, expect, it } from "vitest";
import {
  decodeMessageKey,
  MESSAGE_KEY_EPOCH_SECONDS,
  MESSAGE_KEY_SEQ_PER_SECOND,
  MessageKeyGenerator,
} from "./index.js";

/** A clock the test moves by hand (milliseconds). */
function manualClock(startMs: number) {
  const clock = { now: startMs, read: () => clock.now };
  return clock;
}

const T0 = 1_700_000_000_000; // 2023-11-14, in ms

describe("MessageKeyGenerator", () => {
  it("produces 200k strictly increasing keys below 2^53", () => {
    const clock = manualClock(T0);
    const gen = new MessageKeyGenerator(5, clock.read);
    let previous = -1;
    let bad = 0; // counted, not asserted per key, to keep the loop fast
    for (let i = 0; i < 200_000; i++) {
      if (i % 3000 === 0) clock.now += 250; // real time passes now and then
      const key = gen.next();
      if (!(key > previous) || !Number.isSafeInteger(key)) bad++;
      previous = key;
    }
    expect(bad).toBe(0);
    expect(previous).toBeLessThan(2 ** 53);
  });

  it("never collides between distinct worker ids on the same clock", () => {
    const clock = manualClock(T0);
    const seen = new Set<number>();
    const gens = [0, 1, 16, 31].map((id) => new MessageKeyGenerator(id, clock.read));
    for (let i = 0; i < 20_000; i++) {
      if (i % 5000 === 0) clock.now += 1000;
      for (const gen of gens) seen.add(gen.next());
    }
    expect(seen.size).toBe(4 * 20_000);
  });

  it("borrows the next second when the 65,536 keys of a second are used up", () => {
    const clock = manualClock(T0);
    const gen = new MessageKeyGenerator(3, clock.read);
    const second = Math.floor(T0 / 1000);
    let last = 0;
    for (let i = 0; i < MESSAGE_KEY_SEQ_PER_SECOND; i++) last = gen.next();
    expect(decodeMessageKey(last)).toEqual({ epochSeconds: second, workerId: 3, seq: 65_535 });
    const borrowed = gen.next();
    expect(borrowed).toBeGreaterThan(last);
    expect(decodeMessageKey(borrowed)).toEqual({ epochSeconds: second + 1, workerId: 3, seq: 0 });
    // when the real clock reaches the borrowed second, counting continues without a duplicate
    clock.now += 1000;
    const after = gen.next();
    expect(after).toBeGreaterThan(borrowed);
    expect(decodeMessageKey(after)).toEqual({ epochSeconds: second + 1, workerId: 3, seq: 1 });
  });

  it("keeps increasing when the clock goes backwards", () => {
    const clock = manualClock(T0);
    const gen = new MessageKeyGenerator(9, clock.read);
    const before = gen.next();
    clock.now -= 60_000;
    const during = [gen.next(), gen.next()];
    expect(during[0]).toBeGreaterThan(before);
    expect(during[1]).toBeGreaterThan(during[0] ?? 0);
    expect(decodeMessageKey(during[1] ?? 0).epochSeconds).toBe(Math.floor(T0 / 1000));
    clock.now = T0 + 5000;
    const recovered = gen.next();
    expect(recovered).toBeGreaterThan(during[1] ?? 0);
    expect(decodeMessageKey(recovered)).toEqual({
      epochSeconds: Math.floor(T0 / 1000) + 5,
      workerId: 9,
      seq: 0,
    });
  });

  it("rejects worker ids outside 5 bits and clocks before the epoch", () => {
    expect(() => new MessageKeyGenerator(32)).toThrow(RangeError);
    expect(() => new MessageKeyGenerator(-1)).toThrow(RangeError);
    expect(() => new MessageKeyGenerator(1.5)).toThrow(RangeError);
    expect(() => new MessageKeyGenerator(0, () => 0).next()).toThrow(RangeError);
  });

  it("stays below 2^53 at the end of the range, then refuses", () => {
    const lastSecondMs = (MESSAGE_KEY_EPOCH_SECONDS + 2 ** 32 - 1) * 1000;
    const key = new MessageKeyGenerator(31, () => lastSecondMs).next();
    expect(key).toBeLessThan(2 ** 53);
    expect(() => new MessageKeyGenerator(0, () => lastSecondMs + 1000).next()).toThrow(RangeError);
  });
});

describe("decodeMessageKey", () => {
  it("round-trips the fields and matches the original's bit layout", () => {
    const clock = manualClock(T0 + 123);
    const gen = new MessageKeyGenerator(17, clock.read);
    gen.next();
    const key = gen.next();
    const decoded = decodeMessageKey(key);
    expect(decoded).toEqual({ epochSeconds: Math.floor(T0 / 1000), workerId: 17, seq: 1 });
    // same value the original's shifts give, computed with BigInt
    const expected = (BigInt(decoded.epochSeconds - MESSAGE_KEY_EPOCH_SECONDS) << 21n) | (17n << 16n) | 1n;
    expect(BigInt(key)).toBe(expected);
  });

  it("rejects values that are not keys", () => {
    expect(() => decodeMessageKey(-1)).toThrow(RangeError);
    expect(() => decodeMessageKey(1.5)).toThrow(RangeError);
    expect(() => decodeMessageKey(2 ** 53)).toThrow(RangeError);
  });
});
