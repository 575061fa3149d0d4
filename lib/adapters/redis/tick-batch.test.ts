import { describe, expect, it } from "vitest";
import { MAX_BATCH_OPS, type RunBatch, TickBatch } from "./tick-batch.js";

/** A fake script call that answers each operation with its key (or an error for keys "bad*"). */
function recorder() {
  const calls: Array<{ keys: string[]; args: string[] }> = [];
  const run: RunBatch = async (keys, args) => {
    calls.push({ keys, args });
    return keys.map((k) => (k.startsWith("bad") ? [1, `WRONGTYPE ${k}`] : [0, `v:${k}`]));
  };
  return { calls, run };
}

describe("TickBatch", () => {
  it("sends the operations of one turn in one call, in call order, and answers each", async () => {
    const { calls, run } = recorder();
    const batch = new TickBatch(run);
    const replies = await Promise.all([batch.add("a", ["g"]), batch.add("b", ["s", "x", "0", "1"])]);
    expect(replies).toEqual(["v:a", "v:b"]);
    expect(calls).toEqual([{ keys: ["a", "b"], args: ["g", "s", "x", "0", "1"] }]);
  });

  it("fails one operation alone with its own error, and all of them when the call fails", async () => {
    const { run } = recorder();
    const batch = new TickBatch(run);
    const [ok, bad] = await Promise.allSettled([batch.add("a", ["g"]), batch.add("bad1", ["g"])]);
    expect(ok).toEqual({ status: "fulfilled", value: "v:a" });
    expect(bad.status === "rejected" && String(bad.reason)).toContain("WRONGTYPE bad1");
    const down = new TickBatch(async () => {
      throw new Error("connection lost");
    });
    const results = await Promise.allSettled([down.add("a", ["g"]), down.add("b", ["g"])]);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
  });

  it("sends what waits at once when flushed (a command outside the batch comes next)", async () => {
    const { calls, run } = recorder();
    const batch = new TickBatch(run);
    const reply = batch.add("a", ["g"]);
    batch.flush();
    expect(calls).toHaveLength(1);
    expect(await reply).toBe("v:a");
  });

  it("sends an operation's two keys together and answers it with its first key's reply", async () => {
    const { calls, run } = recorder();
    const batch = new TickBatch(run);
    const replies = await Promise.all([batch.add(["a", "b"], ["c"]), batch.add("z", ["g"])]);
    expect(replies).toEqual(["v:a", "v:z"]);
    expect(calls).toEqual([{ keys: ["a", "b", "z"], args: ["c", "g"] }]);
  });

  it("splits a turn past MAX_BATCH_OPS into calls in order", async () => {
    const { calls, run } = recorder();
    const batch = new TickBatch(run);
    const keys = Array.from({ length: MAX_BATCH_OPS + 3 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => batch.add(k, ["g"])));
    expect(calls.map((c) => c.keys.length)).toEqual([MAX_BATCH_OPS, 3]);
    expect(calls.flatMap((c) => c.keys)).toEqual(keys);
  });

  it("on a cluster, makes one call per slot, each in call order", async () => {
    const { calls, run } = recorder();
    // Slot = the key's first letter, standing in for CRC16.
    const batch = new TickBatch(run, (key) => key.charCodeAt(0));
    const replies = await Promise.all([
      batch.add("a1", ["g"]),
      batch.add("b1", ["g"]),
      batch.add(["a2", "a3"], ["c"]),
      batch.add("b2", ["d"]),
      batch.add("c1", ["g"]),
    ]);
    expect(replies).toEqual(["v:a1", "v:b1", "v:a2", "v:b2", "v:c1"]);
    expect(calls).toEqual([
      { keys: ["a1", "a2", "a3"], args: ["g", "c"] },
      { keys: ["b1", "b2"], args: ["g", "d"] },
      { keys: ["c1"], args: ["g"] },
    ]);
  });
});
