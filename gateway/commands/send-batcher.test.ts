import { describe, expect, it } from "vitest";
import type {
  ChatServiceSendItem,
  ChatServiceSendMessagesRequest,
  ChatServiceSendMessagesResponse,
} from "../../gen/ts/whaleshark/v1/chat_service.js";
import { SendBatcher } from "./send-batcher.js";

const item = (messageId: string): ChatServiceSendItem => ({
  p2p: {
    appId: 1,
    clientType: 1,
    imei: "x",
    fromId: "u",
    toId: "v",
    messageId,
    messageBody: "",
    messageTime: 0,
    extra: "",
    messageRandom: 0,
  } as never,
});
const idOf = (i: ChatServiceSendItem) => i.p2p?.messageId ?? "";

/** A domain whose calls the test answers by hand. */
function domain() {
  const calls: Array<{ ids: string[]; answer(error?: Error): void }> = [];
  const call = (req: ChatServiceSendMessagesRequest) =>
    new Promise<ChatServiceSendMessagesResponse>((resolve, reject) => {
      const ids = req.items.map(idOf);
      calls.push({
        ids,
        answer: (error) =>
          error
            ? reject(error)
            : resolve({
                results: ids.map((id) => ({
                  code: id.startsWith("bad") ? 50002 : 0,
                  msg: "",
                  data: { messageId: id, messageKey: 1, messageSequence: 1 },
                })),
              }),
      });
    });
  return { calls, call };
}
const turn = () => new Promise((r) => setImmediate(r));

describe("SendBatcher", () => {
  it("sends one turn's items in one call, in arrival order, and answers each with its result", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call);
    const results = ["a1", "b1", "bad1"].map((id, i) => batcher.submit(`k${i}`, item(id)));
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["a1", "b1", "bad1"]]);
    d.calls[0]?.answer();
    const settled = await Promise.all(results);
    expect(settled.map((r) => r.code)).toEqual([0, 0, 50002]);
  });

  it("holds a key's later sends until its call is answered, then sends them together in order", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call);
    void batcher.submit("conv", item("m1"));
    await turn();
    void batcher.submit("conv", item("m2"));
    void batcher.submit("other", item("o1"));
    void batcher.submit("conv", item("m3"));
    await turn();
    // o1 goes at once; m2 and m3 wait for m1's call.
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"], ["o1"]]);
    expect(batcher.waiting).toBe(2);
    d.calls[0]?.answer();
    await turn();
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"], ["o1"], ["m2", "m3"]]);
  });

  it("splits a turn past the item bound without two calls in flight for one key", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call, 2);
    for (const [key, id] of [
      ["a", "a1"],
      ["b", "b1"],
      ["a", "a2"],
      ["c", "c1"],
    ] as const) {
      void batcher.submit(key, item(id));
    }
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["a1", "b1"], ["c1"]]);
    d.calls[0]?.answer();
    await turn();
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["a1", "b1"], ["c1"], ["a2"]]);
  });

  const unavailable = () => Object.assign(new Error("UNAVAILABLE"), { code: 14 });

  it("answers a failed batch at once, sends it again in the background, its key still held", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call, 256, [1, 1]);
    const first = batcher.submit("k", item("m1"));
    await turn();
    const second = batcher.submit("k", item("m2"));
    d.calls[0]?.answer(unavailable());
    await expect(first).rejects.toThrow("UNAVAILABLE"); // the client hears at once (D22)
    await new Promise((r) => setTimeout(r, 10));
    // The retry carries m1 alone; m2 still waits behind it.
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"], ["m1"]]);
    d.calls[1]?.answer();
    await turn();
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"], ["m1"], ["m2"]]);
    d.calls[2]?.answer();
    expect((await second).code).toBe(0);
  });

  it("fails a batch whose retries failed, and the sends held behind it, so none overtakes it", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call, 256, [1]);
    const first = batcher.submit("k", item("m1"));
    const firstFailure = first.catch((error: Error) => error.message);
    await turn();
    const second = batcher.submit("k", item("m2"));
    const other = batcher.submit("other", item("o1"));
    await turn();
    d.calls[0]?.answer(unavailable());
    expect(await firstFailure).toBe("UNAVAILABLE");
    await new Promise((r) => setTimeout(r, 10));
    d.calls.at(-1)?.answer(unavailable());
    await expect(second).rejects.toThrow("UNAVAILABLE");
    d.calls[1]?.answer(); // o1's own call
    expect((await other).code).toBe(0);
  });

  it("fails at once on an error that a retry cannot fix", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call, 256, [1]);
    const first = batcher.submit("k", item("m1"));
    await turn();
    d.calls[0]?.answer(Object.assign(new Error("UNAUTHENTICATED"), { code: 16 }));
    await expect(first).rejects.toThrow("UNAUTHENTICATED");
    expect(d.calls).toHaveLength(1);
  });

  it("lets a resend of a send still waiting or in flight join it: one item, one answer for both", async () => {
    const d = domain();
    const batcher = new SendBatcher(d.call);
    const first = batcher.submit("k", item("m1"), "conn/m1");
    const resend = batcher.submit("k", item("m1"), "conn/m1");
    await turn();
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"]]);
    const inFlight = batcher.submit("k", item("m1"), "conn/m1");
    d.calls[0]?.answer();
    expect(await resend).toBe(await first);
    expect(await inFlight).toBe(await first);
    // Once answered, the same id is a new send again (the domain answers it from its dedupe).
    void batcher.submit("k", item("m1"), "conn/m1");
    await turn();
    expect(d.calls).toHaveLength(2);
  });
});

describe("SendBatcher: what it knows of a send", () => {
  it("lets a resend join the first copy in flight, then answers it from memory once accepted", async () => {
    const { calls, call } = domain();
    const clock = { now: 0 };
    const b = new SendBatcher(call, 256, [], () => clock.now, { ms: 1_000, max: 2 });
    expect(b.known("k-a")).toBeUndefined();
    const first = b.submit("c1", item("a"), "k-a");
    const joined = b.known("k-a");
    expect(joined).toBe(first);
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]?.answer();
    const result = await first;
    expect(result.code).toBe(0);
    expect(b.known("k-a")).toEqual(result); // answered without another call
    expect(calls).toHaveLength(1);
    clock.now += 1_001;
    expect(b.known("k-a")).toBeUndefined(); // forgotten after its time
  });

  it("lets a resend join a failed batch's background retry, and remembers what the retry accepted", async () => {
    const d = domain();
    const b = new SendBatcher(d.call, 256, [1, 1]);
    const first = b.submit("k", item("m1"), "key-m1");
    await turn();
    d.calls[0]?.answer(Object.assign(new Error("DEADLINE_EXCEEDED"), { code: 4 })); // it may have run
    await expect(first).rejects.toThrow("DEADLINE_EXCEEDED"); // the client hears at once
    await new Promise((r) => setTimeout(r, 10));
    expect(d.calls).toHaveLength(2); // the retry is in flight
    const resend = b.submit("k", item("m1"), "key-m1"); // the client's resend joins it
    await turn();
    expect(d.calls).toHaveLength(2);
    d.calls[1]?.answer();
    expect((await resend).code).toBe(0);
    expect(b.known("key-m1")).toMatchObject({ code: 0 }); // a later resend: answered from memory
    expect(d.calls.map((c) => c.ids)).toEqual([["m1"], ["m1"]]);
  });

  it("remembers accepted sends only, and at most `max` of them (the oldest go first)", async () => {
    const { calls, call } = domain();
    const b = new SendBatcher(call, 256, [], () => 0, { ms: 1_000, max: 2 });
    const sent = ["a", "b", "c", "bad-d"].map((id) => b.submit(`c-${id}`, item(id), `k-${id}`));
    await turn();
    calls[0]?.answer();
    await Promise.all(sent);
    expect(b.known("k-bad-d")).toBeUndefined(); // refused: a resend goes to the domain again
    expect(b.known("k-a")).toBeUndefined();
    expect(b.known("k-b")).toBeDefined();
    expect(b.known("k-c")).toBeDefined();
    expect(b.remembered).toBe(2);
  });
});
