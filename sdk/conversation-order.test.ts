import { describe, expect, it } from "vitest";
import { ConversationOrder } from "./conversation-order.js";

type Item = { conversation: string; sequence: number };
const item = (conversation: string, sequence: number): Item => ({ conversation, sequence });

function order(maxHeld?: number, start?: 0) {
  const out: string[] = [];
  const o = new ConversationOrder<Item>(
    (i, late) => out.push(`${i.conversation}#${i.sequence}${late ? " late" : ""}`),
    maxHeld,
    start,
  );
  return { o, out };
}

describe("ConversationOrder", () => {
  it("with an unknown start, releases the first item of a conversation and each next one at once", () => {
    const { o, out } = order();
    expect(o.offer(item("a", 7))).toBe("released");
    expect(o.offer(item("a", 8))).toBe("released");
    expect(o.offer(item("b", 1))).toBe("released");
    expect(out).toEqual(["a#7", "a#8", "b#1"]);
    expect(o.last("a")).toBe(8);
    expect(o.gaps()).toEqual([]);
  });

  it("holds items behind a gap and releases them in order once it is filled", () => {
    const { o, out } = order();
    o.offer(item("a", 1));
    expect(o.offer(item("a", 4))).toBe("held");
    expect(o.offer(item("a", 3))).toBe("held");
    expect(o.offer(item("b", 1))).toBe("released"); // other conversations flow on
    expect(o.hasGap("a")).toBe(true);
    expect(o.gaps()).toEqual(["a"]);
    expect(o.offer(item("a", 2))).toBe("released");
    expect(out).toEqual(["a#1", "b#1", "a#2", "a#3", "a#4"]);
    expect(o.hasGap("a")).toBe(false);
    expect(o.last("a")).toBe(4);
  });

  it("releases an item of a passed sequence flagged late, without moving the position back", () => {
    const { o, out } = order();
    o.offer(item("a", 5));
    expect(o.offer(item("a", 3))).toBe("late");
    expect(o.last("a")).toBe(5);
    expect(o.offer(item("a", 6))).toBe("released");
    expect(out).toEqual(["a#5", "a#3 late", "a#6"]);
  });

  it("never releases an item unflagged below a sequence it released: a gap given up on, then filled late", () => {
    const { o, out } = order(undefined, 0);
    o.offer(item("a", 1));
    o.offer(item("a", 3)); // 2 is missing: its domain died between sequencing and publishing
    o.offer(item("a", 4));
    o.skip("a"); // the client stopped waiting for 2
    o.offer(item("a", 5));
    expect(o.offer(item("a", 2))).toBe("late"); // published by a retry after the claim expired
    o.offer(item("a", 6));
    expect(out).toEqual(["a#1", "a#3", "a#4", "a#5", "a#2 late", "a#6"]);
    // What the application shows when it puts late ones in their place: the sequence order.
    const shown = out.map((e) => Number(e.split("#")[1]?.split(" ")[0])).sort((x, y) => x - y);
    expect(shown).toEqual([1, 2, 3, 4, 5, 6]);
    // Whatever came unflagged is strictly increasing.
    const inOrder = out.filter((e) => !e.endsWith("late")).map((e) => Number(e.split("#")[1]));
    expect(inOrder).toEqual([...inOrder].sort((x, y) => x - y));
  });

  it("releases held items the position was advanced past as late, in their order", () => {
    const { o, out } = order(undefined, 0);
    o.offer(item("g", 1));
    o.offer(item("g", 5));
    o.offer(item("g", 3));
    o.advance("g", 4);
    expect(out).toEqual(["g#1", "g#3 late", "g#5"]);
    expect(o.gaps()).toEqual([]);
  });

  it("skips a gap that cannot be filled, releasing what it holds in order", () => {
    const { o, out } = order();
    o.offer(item("a", 1));
    o.offer(item("a", 6));
    o.offer(item("a", 4));
    o.skip("a");
    expect(out).toEqual(["a#1", "a#4", "a#6"]);
    expect(o.last("a")).toBe(6);
    expect(o.offer(item("a", 7))).toBe("released");
  });

  it("bounds what one conversation holds", () => {
    const { o, out } = order(3);
    o.offer(item("a", 1));
    for (const s of [3, 4, 5]) expect(o.offer(item("a", s))).toBe("held");
    o.offer(item("a", 6)); // one too many: the gap is given up
    expect(out).toEqual(["a#1", "a#3", "a#4", "a#5", "a#6"]);
    expect(o.hasGap("a")).toBe(false);
  });

  it("releases everything on skipAll", () => {
    const { o, out } = order();
    o.offer(item("a", 1));
    o.offer(item("a", 3));
    o.offer(item("b", 1));
    o.offer(item("b", 9));
    o.skipAll();
    expect(out).toEqual(["a#1", "b#1", "a#3", "b#9"]);
    expect(o.gaps()).toEqual([]);
  });

  it("with history from the start, holds a first item above 1 until the ones before it come", () => {
    const { o, out } = order(undefined, 0);
    expect(o.last("a")).toBe(0);
    expect(o.offer(item("a", 3))).toBe("held");
    expect(o.gaps()).toEqual(["a"]);
    expect(o.offer(item("b", 1))).toBe("released");
    expect(o.offer(item("a", 1))).toBe("released");
    expect(o.offer(item("a", 2))).toBe("released");
    expect(out).toEqual(["b#1", "a#1", "a#2", "a#3"]);
    expect(o.gaps()).toEqual([]);
  });

  it("advances past sequences that will never come, releasing what became next and keeping later gaps", () => {
    const { o, out } = order(undefined, 0);
    o.offer(item("g", 52));
    o.offer(item("g", 51));
    o.offer(item("g", 55));
    o.advance("g", 50); // the join point: 1..50 are not this member's history
    expect(out).toEqual(["g#51", "g#52"]);
    expect(o.last("g")).toBe(52);
    expect(o.hasGap("g")).toBe(true); // 53, 54 may still come
    o.advance("g", 10); // never back
    expect(o.last("g")).toBe(52);
    o.advance("g", 54);
    expect(out).toEqual(["g#51", "g#52", "g#55"]);
    expect(o.gaps()).toEqual([]);
  });
});
