import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  nextGroupSequence,
  nextUserSequence,
  readUserSequences,
} from "../../services/domain/core/sequences.js";
import { APP_ID, type DomainHarness, startDomainHarness } from "./harness.js";

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(() => h?.close());

describe("sync sequences (services/domain/core/sequences.ts)", () => {
  it("hands out distinct, gap-free numbers per user under concurrency", async () => {
    const user = h.id("conc");
    const values = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.db.$transaction((tx) => nextUserSequence(tx, APP_ID, "friendShipSeq", user)),
      ),
    );
    expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await readUserSequences(h.db, APP_ID, user)).friendShipSeq).toBe(20);
  });

  it("numbers a row two users sync above both counters and moves both to it", async () => {
    const [a, b] = [h.id("joint-a"), h.id("joint-b")];
    for (let i = 0; i < 5; i++) await nextUserSequence(h.db, APP_ID, "friendShipRequestSeq", a);
    await nextUserSequence(h.db, APP_ID, "friendShipRequestSeq", b);
    const joint = await h.db.$transaction((tx) => nextUserSequence(tx, APP_ID, "friendShipRequestSeq", b, a));
    expect(joint).toBe(6);
    expect((await readUserSequences(h.db, APP_ID, a)).friendShipRequestSeq).toBe(6);
    expect((await readUserSequences(h.db, APP_ID, b)).friendShipRequestSeq).toBe(6);
    expect(await readUserSequences(h.db, APP_ID, h.id("untouched"))).toEqual({
      friendShipSeq: 0,
      friendShipRequestSeq: 0,
      friendShipGroupSeq: 0,
      conversationSeq: 0,
    });
  });

  it("makes a later number wait for the earlier one's commit, so sync never skips a row", async () => {
    const user = h.id("order");
    const events: string[] = [];
    const slow = h.db.$transaction(async (tx) => {
      const n = await nextUserSequence(tx, APP_ID, "conversationSeq", user);
      events.push(`got ${n}`);
      await new Promise((r) => setTimeout(r, 300));
      events.push(`commit ${n}`);
      return n;
    });
    await new Promise((r) => setTimeout(r, 50));
    const fast = h.db.$transaction(async (tx) => {
      const n = await nextUserSequence(tx, APP_ID, "conversationSeq", user);
      events.push(`got ${n}`);
      return n;
    });
    expect(await Promise.all([slow, fast])).toEqual([1, 2]);
    expect(events).toEqual(["got 1", "commit 1", "got 2"]);
  });

  it("keeps one group counter per app", async () => {
    const first = await nextGroupSequence(h.db, APP_ID);
    expect(await nextGroupSequence(h.db, APP_ID)).toBe(first + 1);
    expect(await nextGroupSequence(h.db, APP_ID + 1)).toBe(1);
  });
});
