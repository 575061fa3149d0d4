import { describe, expect, it } from "vitest";
import { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import type { GatewayContext } from "./context.js";
import { SendLoad } from "./send-load.js";
import {
  ACCEPTED_MEMORY_MS,
  MAX_REFUSALS_UNTIL_CLOSE,
  MAX_REMEMBERED_REFUSALS,
  ORDER_RETRY_AFTER_MS,
  REFUSED_GRACE_MS,
  refusedForRate,
  SendRateLimiter,
  type SendRateLimits,
  TokenBucket,
} from "./send-rate.js";

/** A limiter on a hand-driven clock. */
function limiter(limits: Partial<SendRateLimits> = {}) {
  const clock = { now: 1_000 };
  const l = new SendRateLimiter(
    {
      perConnection: { rate: 10, burst: 3 },
      perUser: { rate: 0, burst: 1 },
      ...limits,
    },
    () => clock.now,
  );
  return { l, clock };
}

describe("TokenBucket", () => {
  it("starts full, refills at its rate up to its burst, and says how long until n tokens", () => {
    const b = new TokenBucket(10, 3, 0);
    expect(b.tokens(0)).toBe(3);
    b.take();
    b.take();
    b.take();
    expect(b.tokens(0)).toBe(0);
    expect(b.msUntil(1, 0)).toBe(100);
    expect(b.msUntil(5, 0)).toBe(300); // never more than the burst
    expect(b.tokens(150)).toBeCloseTo(1.5);
    expect(b.tokens(10_000)).toBe(3);
    expect(b.msUntil(2, 10_000)).toBe(0);
  });
});

describe("SendRateLimiter", () => {
  it("lets a burst through, then refuses with the wait until tokens for every refused send", () => {
    const { l, clock } = limiter();
    const conn = {};
    expect(["a", "b", "c"].map((id) => l.check(conn, "u", id))).toEqual([undefined, undefined, undefined]);
    expect(l.check(conn, "u", "d")).toBe(100); // one token at 10/s
    expect(l.check(conn, "u", "d")).toBe(100); // (d again, too early: the same wait)
    clock.now += 100;
    expect(l.check(conn, "u", "d")).toBeUndefined();
    expect(l.check(conn, "u", "e")).toBe(100);
    expect(l.check(conn, "u", "f")).toBe(ORDER_RETRY_AFTER_MS); // behind e: back with it
    clock.now += 50;
    expect(l.check(conn, "u", "e")).toBe(150); // half a token of the two e and f need
    clock.now += 150;
    expect(l.check(conn, "u", "e")).toBeUndefined();
    expect(l.check(conn, "u", "f")).toBeUndefined();
    expect(l.waiting(conn)).toBe(0);
  });

  it("keeps a connection's order: nothing overtakes a refused send, which pass in refusal order", () => {
    const { l, clock } = limiter();
    const conn = {};
    for (const id of ["a", "b", "c"]) l.check(conn, "u", id);
    expect(l.check(conn, "u", "d")).toBeDefined(); // refused: no token
    clock.now += 1_000; // the bucket is full again
    // A new send would overtake d: refused, to come back with it.
    expect(l.check(conn, "u", "x")).toBe(ORDER_RETRY_AFTER_MS);
    expect(l.check(conn, "u", "x")).toBe(ORDER_RETRY_AFTER_MS); // x waits behind d, in its place
    expect(l.check(conn, "u", "d")).toBeUndefined(); // d first
    expect(l.check(conn, "u", "x")).toBeUndefined(); // then x
    expect(l.check(conn, "u", "y")).toBeUndefined(); // and new ones again
  });

  it("lets a rewrite of an accepted send through without a token, also behind a refusal", () => {
    const { l, clock } = limiter();
    const conn = {};
    for (const id of ["a", "b", "c"]) l.check(conn, "u", id);
    expect(l.check(conn, "u", "d")).toBeDefined();
    // The SDK rewrites a (its ACK is late): it joins a, it is not new.
    expect([1, 2, 3].map(() => l.check(conn, "u", "a"))).toEqual([undefined, undefined, undefined]);
    expect(l.check(conn, "u", "a")).toBeDefined(); // past MAX_REWRITES it counts as new again
    clock.now += ACCEPTED_MEMORY_MS + 2_000;
    expect(l.check(conn, "u", "d")).toBeUndefined();
    expect(l.check(conn, "u", "b")).toBeUndefined(); // forgotten: a new send, with a token
  });

  it("stops holding a connection for refused sends that are not back a grace after they were due", () => {
    const { l, clock } = limiter();
    const conn = {};
    for (const id of ["a", "b", "c"]) l.check(conn, "u", id);
    const wait = l.check(conn, "u", "lost") as number;
    clock.now += wait + REFUSED_GRACE_MS;
    expect(l.check(conn, "u", "next")).toBeDefined(); // still behind "lost"
    clock.now += 1;
    expect(l.check(conn, "u", "later")).toBeUndefined(); // all forgotten: tokens alone decide
    expect(l.waiting(conn)).toBe(0);
  });

  it("bounds what it remembers per connection", () => {
    const { l } = limiter({ perConnection: { rate: 1, burst: 1 } });
    const conn = {};
    l.check(conn, "u", "first");
    for (let i = 0; i < MAX_REMEMBERED_REFUSALS + 100; i++) expect(l.check(conn, "u", `m${i}`)).toBeDefined();
    expect(l.waiting(conn)).toBe(MAX_REMEMBERED_REFUSALS);
  });

  it("shares the per-user bucket between the user's connections, and not with other users", () => {
    const { l, clock } = limiter({ perConnection: { rate: 0, burst: 1 }, perUser: { rate: 1, burst: 2 } });
    const phone = {};
    const web = {};
    expect(l.check(phone, "ann", "1")).toBeUndefined();
    expect(l.check(web, "ann", "2")).toBeUndefined();
    expect(l.check(web, "ann", "3")).toBe(1000);
    expect(l.check(phone, "bob", "1")).toBeUndefined(); // bob's own bucket (the connection has none)
    clock.now += 1000;
    expect(l.check(web, "ann", "3")).toBeUndefined();
  });

  it("drops per-user buckets that filled up again", () => {
    const { l, clock } = limiter({ perUser: { rate: 100, burst: 5 } });
    for (let i = 0; i < 50; i++) l.check({}, `user-${i}`, "m");
    expect(l.users).toBe(50);
    clock.now += 10_000;
    l.check({}, "someone", "m");
    expect(l.users).toBe(1);
  });

  it("calls a connection flooding once more sends than allowed were refused in a row, until one passes", () => {
    const { l, clock } = limiter({ perConnection: { rate: 1, burst: 1 } });
    const conn = {};
    l.check(conn, "u", "first");
    for (let i = 0; i < MAX_REFUSALS_UNTIL_CLOSE; i++) l.check(conn, "u", `m${i}`);
    expect(l.flooding(conn)).toBe(false); // a client's whole window refused again and again is not a flood
    l.check(conn, "u", "one-more");
    expect(l.flooding(conn)).toBe(true);
    clock.now += 1_000;
    expect(l.check(conn, "u", "m0")).toBeUndefined(); // the first refused one, back after its wait
    expect(l.flooding(conn)).toBe(false);
  });

  it("checks nothing when both rates are 0", () => {
    const { l } = limiter({ perConnection: { rate: 0, burst: 1 }, perUser: { rate: 0, burst: 1 } });
    expect(l.enabled).toBe(false);
    const conn = {};
    for (let i = 0; i < 2_000; i++) expect(l.check(conn, "u", `m${i}`)).toBeUndefined();
  });
});

describe("refusedForRate", () => {
  it("answers a refused send's ACK with 60006 and retryAfterMs, and lets others pass", () => {
    const errors: string[] = [];
    const ctx = {
      config: {
        gateway: {
          sendRatePerConnection: 1,
          sendBurstPerConnection: 1,
          sendRatePerUser: 0,
          sendBurstPerUser: 1,
        },
      },
      metrics: { error: (kind: string) => errors.push(kind) },
      sendRate: new SendRateLimiter({
        perConnection: { rate: 1, burst: 1 },
        perUser: { rate: 0, burst: 1 },
      }),
      sendLoad: new SendLoad({ maxWaitMs: 0, maxDepth: 0 }),
    } as unknown as GatewayContext;
    const written: Array<{ command: number; data: unknown; json?: string }> = [];
    const conn = {
      session: { appId: 10001, userId: "ann" },
      sendData: (command: number, data: object, json?: string) => written.push({ command, data, json }),
    } as unknown as Parameters<typeof refusedForRate>[1];
    expect(refusedForRate(ctx, conn, 1103, "m1")).toBe(false);
    expect(written).toEqual([]);
    expect(refusedForRate(ctx, conn, 1103, "m2")).toBe(true);
    expect(refusedForRate(ctx, conn, 2104, "m3")).toBe(true);
    expect(written).toHaveLength(2);
    const [p2p, group] = written as Array<{ command: number; data: Record<string, unknown>; json?: string }>;
    if (p2p === undefined || group === undefined) throw new Error("no ACKs");
    expect(p2p.command).toBe(1046);
    expect(group.command).toBe(2047);
    expect(p2p.data).toMatchObject({ code: 60006, ok: false, data: { messageId: "m2" } });
    const retryAfterMs = (p2p.data.data as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(900);
    expect(retryAfterMs).toBeLessThanOrEqual(1000);
    expect(p2p.data.msg).toContain(`retry after ${retryAfterMs} ms`);
    // The text written is MessageAck's JSON of it.
    expect(JSON.parse(p2p.json as string)).toEqual(MessageAck.toJSON(MessageAck.fromJSON(p2p.data)));
    expect(errors).toEqual(["send-rate-exceeded", "send-rate-exceeded"]);
    // Writing on regardless of retryAfterMs ends the connection instead of answering each frame.
    const closes: string[] = [];
    (conn as unknown as { close(reason: string): void }).close = (reason) => closes.push(reason);
    // m2 and m3 were refused already: the refusal past MAX_REFUSALS_UNTIL_CLOSE closes.
    for (let i = 0; i < MAX_REFUSALS_UNTIL_CLOSE - 1; i++) refusedForRate(ctx, conn, 1103, `f${i}`);
    expect(closes).toEqual(["send-flood"]);
    expect(written).toHaveLength(MAX_REFUSALS_UNTIL_CLOSE); // every refusal answered but the one that closed
  });
});

describe("SendRateLimiter with load shedding", () => {
  it("refuses a shed send in its place: the connection's later sends wait behind it, also without rate limits", () => {
    const { l, clock } = limiter({ perConnection: { rate: 0, burst: 1 } });
    expect(l.enabled).toBe(false);
    const conn = {};
    expect(l.check(conn, "u", "a")).toBeUndefined(); // no limits, no load: untouched
    expect(l.check(conn, "u", "b", 800)).toBe(800); // shed
    expect(l.check(conn, "u", "c")).toBe(800); // behind b, although nothing is shed now
    clock.now += 800;
    // b comes back while the gateway still sheds: refused again, still first in line.
    expect(l.check(conn, "u", "b", 500)).toBe(500);
    expect(l.check(conn, "u", "c")).toBe(500);
    clock.now += 500;
    expect(l.check(conn, "u", "b")).toBeUndefined();
    expect(l.check(conn, "u", "c")).toBeUndefined();
    expect(l.waiting(conn)).toBe(0);
    expect(l.check(conn, "u", "d")).toBeUndefined();
  });

  it("does not spend tokens on a shed send", () => {
    const { l } = limiter({ perConnection: { rate: 10, burst: 1 } });
    const conn = {};
    expect(l.check(conn, "u", "a", 300)).toBe(300);
    expect(l.check(conn, "u", "a")).toBeUndefined(); // the one token is still there
  });
});
