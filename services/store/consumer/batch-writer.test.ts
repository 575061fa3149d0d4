import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BatchWriter, type BatchWriterOptions } from "./batch-writer.js";

const logger = pino({ level: "silent" });

function writer(over: Partial<BatchWriterOptions<number>> & Pick<BatchWriterOptions<number>, "write">) {
  const failures: string[] = [];
  const w = new BatchWriter<number>({
    batchSize: 4,
    batchWaitMs: 10,
    healthy: async () => true,
    logger,
    onFailure: (kind, size) => failures.push(`${kind}:${size}`),
    retryMinMs: 5,
    retryMaxMs: 20,
    ...over,
  });
  return { w, failures };
}

describe("BatchWriter", () => {
  it("writes full batches at once and the rest after batchWaitMs", async () => {
    const batches: number[][] = [];
    const { w } = writer({ write: async (items) => void batches.push(items) });
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((n) => w.add(n)));
    await new Promise((r) => setTimeout(r, 1));
    expect(batches).toEqual([[1, 2, 3, 4]]); // full batch written without waiting
    await all;
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it("isolates a bad item by splitting: the others commit, only it rejects", async () => {
    const committed: number[] = [];
    const { w, failures } = writer({
      write: async (items) => {
        if (items.includes(3)) throw new Error("value too long");
        committed.push(...items);
      },
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => w.add(n)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(committed.sort()).toEqual([1, 2, 4]);
    expect(failures).toEqual(["split:4", "split:2", "rejected:1"]);
  });

  it("keeps a batch while the database is unreachable and writes it when it is back", async () => {
    let up = false;
    let attempts = 0;
    const { w, failures } = writer({
      write: async (items) => {
        attempts++;
        if (!up) throw new Error("ECONNREFUSED");
        expect(items).toEqual([1, 2]);
      },
      healthy: async () => up,
    });
    const done = Promise.all([w.add(1), w.add(2)]);
    setTimeout(() => {
      up = true;
    }, 60);
    await done; // resolves, nothing rejected
    expect(attempts).toBeGreaterThan(2);
    expect(failures.every((f) => f === "unreachable:2")).toBe(true);
  });

  it("treats a throwing health check as unreachable", async () => {
    let calls = 0;
    const { w, failures } = writer({
      write: async () => {
        calls++;
        if (calls === 1) throw new Error("connection reset");
      },
      healthy: async () => {
        throw new Error("ECONNREFUSED");
      },
    });
    await w.add(1);
    expect(failures).toEqual(["unreachable:1"]);
  });

  it("on close fails what it could not write, so the bus redelivers it", async () => {
    const { w } = writer({
      write: async () => {
        throw new Error("down");
      },
      healthy: async () => false,
    });
    const pending = w.add(1);
    await new Promise((r) => setTimeout(r, 30));
    await w.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(w.add(2)).rejects.toThrow(/closed/);
  });
});
