import { describe, expect, it } from "vitest";
import {
  type LoadToken,
  SendLoad,
  SHED_RETRY_MAX_MS,
  SHED_RETRY_MIN_MS,
  SOJOURN_WINDOW_MS,
} from "./send-load.js";

/** A SendLoad on a hand-driven clock, without jitter (random 0.5: the wait itself). */
function load(maxWaitMs = 1_000, maxDepth = 0) {
  const clock = { now: 10_000 };
  const l = new SendLoad(
    { maxWaitMs, maxDepth },
    () => clock.now,
    () => 0.5,
  );
  return { l, clock };
}

describe("SendLoad", () => {
  it("sheds nothing while sends are answered quickly", () => {
    const { l, clock } = load();
    const conn = {};
    for (let i = 0; i < 100; i++) {
      const t = l.begin(conn);
      clock.now += 5;
      l.end(t);
    }
    expect(l.sojourn()).toBe(5);
    expect(l.shed(conn)).toBeUndefined();
    expect(l.depth).toBe(0);
  });

  it("takes the shortest wait of the window: one stuck send does not shed while others are fast", () => {
    const { l, clock } = load();
    const conn = {};
    const stuck = l.begin(conn);
    for (let i = 0; i < 20; i++) {
      const t = l.begin({});
      clock.now += 100;
      l.end(t);
    }
    expect(clock.now - stuck.at).toBe(2_000); // far past the threshold
    expect(l.sojourn()).toBe(100);
    expect(l.shed({})).toBeUndefined();
    // Its own connection is shed once its oldest send is twice the threshold old.
    expect(l.shed(conn)).toBe(1_000); // half the wait observed
    l.end(stuck);
    expect(l.shed(conn)).toBeUndefined();
  });

  it("sheds every new send when all sends wait past the threshold, with half that wait as the hint", () => {
    const { l, clock } = load();
    const tokens = Array.from({ length: 10 }, () => l.begin({}));
    clock.now += 1_200;
    for (const t of tokens.slice(0, 5)) l.end(t); // all waited 1.2 s
    expect(l.sojourn()).toBe(1_200);
    expect(l.shed({})).toBe(600);
    // Two windows without any answer: the oldest waiting send stands in.
    clock.now += 2 * SOJOURN_WINDOW_MS;
    expect(l.sojourn()).toBe(1_200 + 2 * SOJOURN_WINDOW_MS);
    for (const t of tokens.slice(5)) l.end(t);
    // Answered again quickly: the high waits age out of the window.
    clock.now += 2 * SOJOURN_WINDOW_MS;
    const t = l.begin({});
    clock.now += 10;
    l.end(t);
    expect(l.shed({})).toBeUndefined();
  });

  it("does not shed while the domain fails sends fast (down), also with sends held for long", () => {
    const { l, clock } = load();
    const held = l.begin({}); // behind a failed batch's retries
    for (let i = 0; i < 10; i++) {
      const t = l.begin({});
      clock.now += 150;
      l.end(t, false); // 71000 at once
    }
    expect(clock.now - held.at).toBeGreaterThan(1_000);
    expect(l.sojourn()).toBe(0);
    expect(l.shed({})).toBeUndefined();
    l.end(held, false);
    // Answers come again, slowly: that is a queue.
    const slow = l.begin({});
    clock.now += 1_300;
    l.end(slow);
    expect(l.shed({})).toBe(650);
  });

  it("sheds when nothing is answered and the oldest send is past the threshold (a domain that hangs)", () => {
    const { l, clock } = load();
    l.begin({});
    clock.now += 999;
    expect(l.shed({})).toBeUndefined();
    clock.now += 1;
    expect(l.shed({})).toBe(500);
  });

  it("sheds past the depth bound; with both limits 0 it never sheds", () => {
    const { l } = load(0, 3);
    const tokens = [l.begin({}), l.begin({})];
    expect(l.shed({})).toBeUndefined();
    tokens.push(l.begin({}));
    expect(l.shed({})).toBe(SHED_RETRY_MIN_MS);
    l.end(tokens[0] as LoadToken);
    expect(l.shed({})).toBeUndefined();
    const { l: off } = load(0, 0);
    off.begin({});
    expect(off.enabled).toBe(false);
    expect(off.shed({})).toBeUndefined();
  });

  it("hands out half the wait observed, spread ±25 %, within its bounds", () => {
    const clock = { now: 0 };
    let r = 0;
    const l = new SendLoad(
      { maxWaitMs: 1_000, maxDepth: 0 },
      () => clock.now,
      () => r,
    );
    l.begin({});
    clock.now = 4_000;
    r = 0;
    expect(l.shed({})).toBe(1_500);
    r = 1;
    expect(l.shed({})).toBe(2_500);
    clock.now = 60_000;
    expect(l.shed({})).toBe(SHED_RETRY_MAX_MS);
  });
});
