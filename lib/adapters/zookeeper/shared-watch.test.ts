import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceInstance } from "../../ports/discovery.js";
import { removeTestRoot, testZookeeperConnect, uniqueZookeeperRoot } from "../../testing/zookeeper.js";
import { ZookeeperDiscovery } from "./discovery.js";

const logger = pino({ level: "silent" });
const service = "whaleshark.domain";

const open = (root: string) =>
  ZookeeperDiscovery.connect({ connect: testZookeeperConnect, root, sessionTimeoutMs: 6000, logger });

const instance = (id: string, port: number): ServiceInstance => ({
  service,
  id,
  host: "127.0.0.1",
  port,
  meta: {},
});

/** The ids of every list one listener received, in order. */
const ids = (lists: Array<readonly ServiceInstance[]>) => lists.map((l) => l.map((i) => i.id).join(","));

// Many gRPC channels on one `zk:///` service share the handle's single ZooKeeper watch.
describe("ZookeeperDiscovery shared watch", () => {
  const cleanups: Array<() => Promise<void>> = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    warnings.length = 0;
  });

  const setup = async () => {
    const root = uniqueZookeeperRoot();
    const [watcher, member] = [await open(root), await open(root)];
    cleanups.push(
      () => removeTestRoot(root),
      () => watcher.close(),
      () => member.close(),
    );
    return { watcher, member };
  };

  const maxListenerWarnings = () => warnings.filter((w) => w.name === "MaxListenersExceededWarning");

  it("20 watchers of one service get the same updates without a MaxListenersExceeded warning", async () => {
    const { watcher, member } = await setup();
    const seen = Array.from({ length: 20 }, () => [] as Array<readonly ServiceInstance[]>);
    const stops = seen.map((lists) => watcher.watch(service, (list) => lists.push(list)));
    expect(seen.every((lists) => lists.length === 0)).toBe(true); // never inside watch()
    await waitFor(() => seen.every((lists) => lists.length === 1));

    await member.register(instance("node-a", 7001));
    await waitFor(() => seen.every((lists) => ids(lists).at(-1) === "node-a"));
    await member.register(instance("node-b", 7002));
    await waitFor(() => seen.every((lists) => ids(lists).at(-1) === "node-a,node-b"));
    await member.register(instance("node-a", 7005)); // same id, new address: the data watch
    await waitFor(() => seen.every((lists) => lists.at(-1)?.[0]?.port === 7005));
    await member.deregister(service, "node-b");
    await waitFor(() => seen.every((lists) => ids(lists).at(-1) === "node-a"));

    const first = seen[0] ?? [];
    for (const lists of seen) expect(lists).toEqual(first);
    expect(ids(first)).toEqual(["", "node-a", "node-a,node-b", "node-a,node-b", "node-a"]);
    expect(first[0]).not.toBe(seen[1]?.[0]); // each listener gets its own copy

    for (const stop of stops) stop();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(maxListenerWarnings()).toEqual([]);
  });

  it("unwatch stops only that listener; a late watcher gets the current list; re-watching stays clean", async () => {
    const { watcher, member } = await setup();
    const a: Array<readonly ServiceInstance[]> = [];
    const b: Array<readonly ServiceInstance[]> = [];
    const stopA = watcher.watch(service, (list) => a.push(list));
    const stopB = watcher.watch(service, (list) => b.push(list));
    await member.register(instance("node-a", 7001));
    await waitFor(() => ids(a).at(-1) === "node-a" && ids(b).at(-1) === "node-a");

    stopA();
    stopA(); // idempotent
    const aSeen = a.length;
    await member.register(instance("node-b", 7002));
    await waitFor(() => ids(b).at(-1) === "node-a,node-b");
    expect(a).toHaveLength(aSeen);

    // Joining a running shared watch: the current list, asynchronously, exactly once.
    const late: Array<readonly ServiceInstance[]> = [];
    const stopLate = watcher.watch(service, (list) => late.push(list));
    expect(late).toHaveLength(0);
    await waitFor(() => late.length === 1);
    expect(ids(late)).toEqual(["node-a,node-b"]);
    stopLate();
    stopB();

    // The last unwatch released the watch; many watch/unwatch cycles leave no listener behind.
    for (let i = 0; i < 20; i++) watcher.watch(service, () => {})();
    const again: Array<readonly ServiceInstance[]> = [];
    watcher.watch(service, (list) => again.push(list));
    await waitFor(() => ids(again).at(-1) === "node-a,node-b");
    await member.deregister(service, "node-a");
    await waitFor(() => ids(again).at(-1) === "node-b");
    await new Promise((r) => setImmediate(r));
    expect(maxListenerWarnings()).toEqual([]);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
