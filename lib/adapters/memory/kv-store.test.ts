import { describe, expect, it, vi } from "vitest";
import { kvContract } from "../../ports/kv.contract.js";
import { MemoryKvStore } from "./kv-store.js";

kvContract("memory", async () => {
  const kv = new MemoryKvStore();
  return { kv, cleanup: () => kv.close() };
});

// Memory only: the sweep that reclaims expired keys nobody reads again.
describe("MemoryKvStore", () => {
  it("reclaims expired keys in the background, without a read", async () => {
    vi.useFakeTimers();
    try {
      const kv = new MemoryKvStore();
      for (let i = 0; i < 100; i++) await kv.set(`dedup:${i}`, "1", { ttlMs: 500 });
      await kv.set("kept", "1");
      await kv.set("renewed", "1", { ttlMs: 500 });
      await kv.expire("renewed", 5_000); // its first heap entry goes stale
      expect(kv.size).toBe(102);
      vi.advanceTimersByTime(1_100);
      expect(kv.size).toBe(2);
      vi.advanceTimersByTime(5_000);
      expect(kv.size).toBe(1);
      expect(await kv.get("kept")).toBe("1");
      await kv.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
