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
    c.run(async () => async () => void order.push("c"));
    other.run(async () => async () => void order.push("other"));
    b.cancel();
    await sleep(5);
    a.run(async () => {
      await sleep(10);
      return async () => void order.push("a");
    });
    lanes.spawn(async () => {
      throw new Error("logged, not thrown");
    });
    await lanes.idle();
    expect(order).toEqual(["other", "a", "c"]);
  });

  it("runs the decided slots of a lane as one wave: work side by side, pushes started in slot order", async () => {
    const lanes = new PushLanes(log);
    const events: string[] = [];
    const slots = ["m1", "m2", "m3"].map((name) => ({ name, slot: lanes.reserve("g") }));
    // The first one's work is the slowest; its push still starts first.
    for (const { name, slot } of slots.reverse()) {
      slot.run(async () => {
        events.push(`work ${name}`);
        await sleep(name === "m1" ? 15 : 1);
        return async () => void events.push(`push ${name}`);
      });
    }
    await lanes.idle();
    expect(events.filter((e) => e.startsWith("push"))).toEqual(["push m1", "push m2", "push m3"]);
    // m2 and m3 were decided before m1 (the head): all three ran in one wave.
    expect(events.slice(0, 3).every((e) => e.startsWith("work"))).toBe(true);
  });
});
