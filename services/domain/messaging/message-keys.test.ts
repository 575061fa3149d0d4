import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { decodeMessageKey } from "../../../lib/ids/index.js";
import { MessageKeys, workerLeaseKey } from "./message-keys.js";
import { PushLanes } from "./push-lanes.js";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("MessageKeys", () => {
  it("uses a configured worker id without leasing", async () => {
    const kv = new MemoryKvStore();
    const keys = new MessageKeys({ kv, log, nodeId: "n", workerId: 7 });
    expect(decodeMessageKey(await keys.next()).workerId).toBe(7);
    for (let id = 0; id < 32; id++) expect(await kv.get(workerLeaseKey(id))).toBeNull();
    await keys.close();
  });

  it("leases distinct worker ids per process and frees them on close", async () => {
    const kv = new MemoryKvStore();
    const processes = Array.from({ length: 5 }, (_, i) => new MessageKeys({ kv, log, nodeId: `n${i}` }));
    const keys = await Promise.all(processes.map((p) => p.next()));
    const ids = keys.map((k) => decodeMessageKey(k).workerId);
    expect(new Set(ids).size).toBe(5);
    await processes[0]?.close();
    expect(await kv.get(workerLeaseKey(ids[0] as number))).toBeNull();
    for (const p of processes.slice(1)) await p.close();
  });

  it("takes its lease back after kv lost it, and moves when another process took it", async () => {
    const kv = new MemoryKvStore();
    const keys = new MessageKeys({ kv, log, nodeId: "a", leaseTtlMs: 150 });
    const id = decodeMessageKey(await keys.next()).workerId;
    await kv.del(workerLeaseKey(id)); // kv restarted empty
    await sleep(80);
    expect(await kv.get(workerLeaseKey(id))).toMatch(/^a#/);
    await kv.set(workerLeaseKey(id), "intruder#1"); // someone else holds it now
    await sleep(80);
    const moved = decodeMessageKey(await keys.next()).workerId;
    expect(moved).not.toBe(id);
    expect(await kv.get(workerLeaseKey(moved))).toMatch(/^a#/);
    await keys.close();
  });

  it("fails clearly when all 32 worker ids are leased", async () => {
    const kv = new MemoryKvStore();
    for (let id = 0; id < 32; id++) await kv.set(workerLeaseKey(id), "other#x");
    const keys = new MessageKeys({ kv, log, nodeId: "late" });
    await expect(keys.next()).rejects.toThrow(/workerId/);
    await keys.close();
  });
});

describe("PushLanes", () => {
  it("runs a lane's work in reservation order, skips cancelled slots and drains on idle", async () => {
    const lanes = new PushLanes(log);
    const order: string[] = [];
    const a = lanes.reserve("c1");
    const b = lanes.reserve("c1");
    const c = lanes.reserve("c1");
    const other = lanes.reserve("c2");
    c.run(async () => void order.push("c"));
    other.run(async () => void order.push("other"));
    b.cancel();
    await sleep(5);
    a.run(async () => {
      await sleep(10);
      order.push("a");
    });
    lanes.spawn(async () => {
      throw new Error("logged, not thrown");
    });
    await lanes.idle();
    expect(order).toEqual(["other", "a", "c"]);
  });
});
