import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Discovery, ServiceInstance } from "./discovery.js";

/** What the contract suite needs from one adapter. */
export interface DiscoveryHarness {
  /**
   * Opens a new handle on the registry, as another process would (its own connection/session).
   * Every handle of one harness sees the same registry; different harnesses never share state.
   */
  open(): Promise<Discovery>;
  /** Removes what the test left behind (e.g. the test's ZooKeeper root). Handles are closed first. */
  cleanup?(): Promise<void>;
}

/** Records every list a watch delivered. */
class Recorder {
  readonly lists: Array<readonly ServiceInstance[]> = [];
  readonly listener = (instances: readonly ServiceInstance[]) => {
    this.lists.push(instances);
  };

  get last(): readonly ServiceInstance[] | undefined {
    return this.lists[this.lists.length - 1];
  }

  ids(): string[] | undefined {
    return this.last?.map((i) => i.id);
  }

  /** Waits until the last delivered list satisfies `check`. */
  async until(check: (ids: string[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ids = this.ids();
      if (ids !== undefined && check(ids)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `watch never satisfied the check; lists seen: ${JSON.stringify(this.lists.map((l) => l.map((i) => i.id)))}`,
    );
  }
}

const instance = (id: string, port: number, meta: Record<string, string> = {}): ServiceInstance => ({
  service: "contract.svc",
  id,
  host: "127.0.0.1",
  port,
  meta,
});

const sameIds =
  (...want: string[]) =>
  (ids: string[]) =>
    ids.join(",") === want.join(",");

/**
 * The discovery contract (lib/ports/discovery.ts), run against every adapter: ZooKeeper (real
 * server), Consul (the agent double) and static. `setup` is called once per test.
 */
export function discoveryContract(name: string, setup: () => Promise<DiscoveryHarness>): void {
  describe(`Discovery contract: ${name}`, () => {
    let harness: DiscoveryHarness;
    let handles: Discovery[];
    const open = async () => {
      const handle = await harness.open();
      handles.push(handle);
      return handle;
    };

    beforeEach(async () => {
      harness = await setup();
      handles = [];
    });

    afterEach(async () => {
      await Promise.allSettled(handles.map((h) => h.close()));
      await harness.cleanup?.();
    });

    it("delivers the current list asynchronously, also when it is empty", async () => {
      const d = await open();
      const rec = new Recorder();
      d.watch("contract.svc", rec.listener);
      expect(rec.lists).toHaveLength(0); // never inside watch()
      await rec.until(sameIds());
    });

    it("sees instances of other handles, sorted by id, with address and meta", async () => {
      const [watcher, p1, p2] = [await open(), await open(), await open()];
      const rec = new Recorder();
      watcher.watch("contract.svc", rec.listener);
      await rec.until(sameIds());
      await p1.register(instance("node-b", 7002, { nodeId: "node-b", zone: "z1" }));
      await p2.register(instance("node-a", 7001));
      await rec.until(sameIds("node-a", "node-b"));
      expect(rec.last).toEqual([
        instance("node-a", 7001),
        instance("node-b", 7002, { nodeId: "node-b", zone: "z1" }),
      ]);

      const late = new Recorder();
      watcher.watch("contract.svc", late.listener);
      await late.until(sameIds("node-a", "node-b"));
    });

    it("replaces an instance registered again under the same id", async () => {
      const [d, watcher] = [await open(), await open()];
      const rec = new Recorder();
      watcher.watch("contract.svc", rec.listener);
      await d.register(instance("node-a", 7001, { v: "1" }));
      await rec.until(sameIds("node-a"));
      await d.register(instance("node-a", 7005, { v: "2" }));
      await rec.until(() => rec.last?.[0]?.port === 7005);
      expect(rec.last).toEqual([instance("node-a", 7005, { v: "2" })]);
    });

    it("deregister removes the instance; an unknown id is no error", async () => {
      const [d, watcher] = [await open(), await open()];
      const rec = new Recorder();
      watcher.watch("contract.svc", rec.listener);
      await d.register(instance("node-a", 7001));
      await d.register(instance("node-b", 7002));
      await rec.until(sameIds("node-a", "node-b"));
      await d.deregister("contract.svc", "node-a");
      await d.deregister("contract.svc", "never-registered");
      await rec.until(sameIds("node-b"));
    });

    it("close removes the handle's instances for everybody and rejects further calls", async () => {
      const [d, watcher] = [await open(), await open()];
      const rec = new Recorder();
      watcher.watch("contract.svc", rec.listener);
      await d.register(instance("node-a", 7001));
      await rec.until(sameIds("node-a"));
      await d.close();
      await rec.until(sameIds());
      await expect(d.register(instance("node-c", 7003))).rejects.toThrow();
    });

    it("never delivers the same list twice in a row, and nothing after unwatch", async () => {
      const [d, watcher] = [await open(), await open()];
      const rec = new Recorder();
      const stop = watcher.watch("contract.svc", rec.listener);
      await d.register(instance("node-a", 7001));
      await d.register(instance("node-a", 7001)); // same content again
      await d.register(instance("node-b", 7002));
      await rec.until(sameIds("node-a", "node-b"));
      for (let i = 1; i < rec.lists.length; i++) {
        expect(JSON.stringify(rec.lists[i]), `list ${i}`).not.toBe(JSON.stringify(rec.lists[i - 1]));
      }
      stop();
      stop(); // idempotent
      const seen = rec.lists.length;
      await d.deregister("contract.svc", "node-b");
      await new Promise((r) => setTimeout(r, 300));
      expect(rec.lists).toHaveLength(seen);
    });

    it("keeps services apart", async () => {
      const [d, watcher] = [await open(), await open()];
      const other = new Recorder();
      const mine = new Recorder();
      watcher.watch("contract.other", other.listener);
      watcher.watch("contract.svc", mine.listener);
      await d.register(instance("node-a", 7001));
      await mine.until(sameIds("node-a"));
      await other.until(sameIds());
      expect(other.lists.every((l) => l.length === 0)).toBe(true);
    });

    it("rejects instances that cannot be stored or reached", async () => {
      const d = await open();
      await expect(d.register({ ...instance("a/b", 7001) })).rejects.toThrow(/instance id/);
      await expect(d.register({ ...instance("node-a", 0) })).rejects.toThrow(/port/);
      await expect(d.register({ ...instance("node-a", 7001), host: "0.0.0.0" })).rejects.toThrow(/host/);
      await expect(d.register({ ...instance("node-a", 7001), service: "bad service" })).rejects.toThrow(
        /service/,
      );
      expect(() => d.watch("../etc", () => {})).toThrow(/service/);
    });
  });
}
