import { describe, expect, it } from "vitest";
import { ChatStore, groupKey, p2pKey, parseKey } from "../../console/chat-store.js";

const arrival = (
  n: number,
  fromId = "bob",
  extra: Partial<{ recalled: boolean; messageId: string }> = {},
) => ({
  messageId: extra.messageId ?? `m${n}`,
  messageKey: 1000 + n,
  messageSequence: n,
  messageTime: 1_700_000_000_000 + n,
  fromId,
  body: `hello ${n}`,
  recalled: extra.recalled ?? false,
});

describe("console ChatStore", () => {
  it("moves an own message sending → sent → delivered → read, never backwards", () => {
    const s = new ChatStore("alice");
    const key = p2pKey("bob");
    s.sending(key, "x1", "hi", 1);
    expect(s.list(key).map((m) => m.state)).toEqual(["sending"]);
    s.acked("x1", 5001, 3);
    expect(s.list(key)[0]).toMatchObject({ state: "sent", messageKey: 5001, messageSequence: 3 });
    s.delivered(5001);
    expect(s.list(key)[0]?.state).toBe("delivered");
    expect(s.readUpTo(key, 3)).toHaveLength(1);
    s.delivered(5001); // a late delivery receipt
    expect(s.list(key)[0]?.state).toBe("read");
  });

  it("keeps messages in sequence order, unACKed sends last, and drops a second copy", () => {
    const s = new ChatStore("alice");
    const key = p2pKey("bob");
    s.received(key, arrival(2));
    s.sending(key, "x1", "mine", 5);
    s.received(key, arrival(1));
    expect(s.list(key).map((m) => m.messageId)).toEqual(["m1", "m2", "x1"]);
    expect(s.received(key, arrival(2)).added).toBe(false);
    // The sync copy of this device's own send (same messageId) merges into it.
    expect(s.received(key, { ...arrival(3, "alice"), messageId: "x1" }).added).toBe(false);
    expect(s.list(key).map((m) => [m.messageId, m.state])).toEqual([
      ["m1", "received"],
      ["m2", "received"],
      ["x1", "sent"],
    ]);
    expect(s.lastIncomingSequence(key)).toEqual({ sequence: 2, fromId: "bob" });
  });

  it("shows another device's send as own and sent; a recall clears the body", () => {
    const s = new ChatStore("alice");
    const key = groupKey("g1");
    const { item } = s.received(key, arrival(1, "alice"));
    expect(item).toMatchObject({ own: true, state: "sent" });
    s.received(key, arrival(2, "carol", { recalled: true }));
    expect(s.list(key)[1]).toMatchObject({ recalled: true, body: "" });
    s.recalled(1001);
    expect(s.last(key)?.recalled).toBe(true);
    expect(s.list(key)[0]).toMatchObject({ recalled: true, body: "" });
  });

  it("marks a refused send failed with its reason", () => {
    const s = new ChatStore("alice");
    s.sending(p2pKey("bob"), "x", "hi", 1);
    s.failed("x", "50003 sender disabled");
    expect(s.list(p2pKey("bob"))[0]).toMatchObject({ state: "failed", error: "50003 sender disabled" });
    expect(parseKey(groupKey("g-1"))).toEqual({ type: 1, toId: "g-1" });
    expect(parseKey(p2pKey("b:c"))).toEqual({ type: 0, toId: "b:c" });
  });
});
