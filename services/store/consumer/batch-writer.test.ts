import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Prisma } from "../../../gen/prisma/client.js";
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

  it("logs a row the database refuses as one line: SQLSTATE and the item's ids, no stack or payload", async () => {
    const lines: string[] = [];
    const capture = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    const payload = `secret body ${"x".repeat(4000)}`;
    // What Prisma's raw insert throws for a NUL in text, on PostgreSQL and PGlite alike.
    const refused = () =>
      new Prisma.PrismaClientKnownRequestError(
        `\nInvalid \`prisma.$queryRaw()\` invocation:\n\n\nRaw query failed. Code: \`22021\`. Message: \`invalid byte sequence for encoding "UTF8": 0x00\``,
        {
          code: "P2010",
          clientVersion: "7",
          meta: {
            driverAdapterError: {
              name: "DriverAdapterError",
              cause: { originalCode: "22021", originalMessage: "invalid byte sequence", kind: "postgres" },
            },
          },
        },
      );
    const { w } = writer({
      logger: capture,
      write: async (items) => {
        if (items.includes(2)) throw refused();
      },
      describe: (n) => ({ messageKey: String(n), messageId: `mid-${n}` }),
    });
    const results = await Promise.allSettled([1, 2].map((n) => w.add(n)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    const rejected = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith("item failed"));
    expect(rejected).toMatchObject({
      level: 50,
      error: {
        type: "PrismaClientKnownRequestError",
        code: "P2010",
        sqlState: "22021",
        message:
          'Raw query failed. Code: `22021`. Message: `invalid byte sequence for encoding "UTF8": 0x00`',
      },
      item: { messageKey: "2", messageId: "mid-2" },
    });
    for (const line of lines) {
      expect(line.length).toBeLessThan(600);
      expect(line).not.toContain("stack");
      expect(line).not.toContain(payload.slice(0, 20));
    }
  });
});
