import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { discoveryContract } from "../../ports/discovery.contract.js";
import type { ServiceInstance } from "../../ports/discovery.js";
import {
  expireSession,
  removeTestRoot,
  testZookeeperConnect,
  uniqueZookeeperRoot,
  ZookeeperProxy,
} from "../../testing/zookeeper.js";
import { closeClient, createEphemeral, exists, getData, mkdirp, openClient } from "./client.js";
import { ZookeeperDiscovery } from "./discovery.js";

const logger = pino({ level: "silent" });

const open = (root: string) =>
  ZookeeperDiscovery.connect({ connect: testZookeeperConnect, root, sessionTimeoutMs: 6000, logger });

discoveryContract("zookeeper", async () => {
  const root = uniqueZookeeperRoot();
  return { open: () => open(root), cleanup: () => removeTestRoot(root) };
});

// ZooKeeper-only: the znode layout, and what a session expiry does (Consul and static have no sessions).
describe("ZookeeperDiscovery sessions", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const gw: ServiceInstance = {
    service: "whaleshark.gateway.tcp",
    id: "gw-1",
    host: "10.0.0.7",
    port: 19001,
    meta: { nodeId: "gw-1" },
  };

  it("stores an instance as an ephemeral znode <root>/services/<service>/<id> holding JSON", async () => {
    const root = uniqueZookeeperRoot();
    const d = await open(root);
    cleanups.push(
      () => removeTestRoot(root),
      () => d.close(),
    );
    await d.register(gw);
    const client = await openClient(testZookeeperConnect, { sessionTimeoutMs: 5000, connectTimeoutMs: 5000 });
    try {
      const data = await getData(client, `${root}/services/whaleshark.gateway.tcp/gw-1`, () => {});
      expect(JSON.parse(data?.toString() ?? "")).toEqual({
        host: "10.0.0.7",
        port: 19001,
        meta: { nodeId: "gw-1" },
      });
    } finally {
      await closeClient(client);
    }
  });

  it("an instance whose session ended disappears from every watch", async () => {
    const root = uniqueZookeeperRoot();
    const watcher = await open(root);
    const proxy = await ZookeeperProxy.start();
    const dying = await openClient(proxy.connect, { sessionTimeoutMs: 6000, connectTimeoutMs: 5000 });
    cleanups.push(
      () => removeTestRoot(root),
      () => watcher.close(),
      () => proxy.close(),
      () => closeClient(dying, 100),
    );
    const lists: string[][] = [];
    watcher.watch(gw.service, (list) => lists.push(list.map((i) => i.id)));
    // A process registered the way the adapter does, then stopped answering.
    await mkdirp(dying, `${root}/services/${gw.service}`);
    const data = Buffer.from(JSON.stringify({ host: gw.host, port: gw.port, meta: gw.meta }));
    await createEphemeral(dying, `${root}/services/${gw.service}/dead`, data);
    await waitFor(() => lists.at(-1)?.join() === "dead");
    proxy.cut(); // it stops answering
    await expireSession({
      id: dying.getSessionId(),
      password: dying.getSessionPassword(),
      timeoutMs: dying.getSessionTimeout(),
    });
    await waitFor(() => lists.at(-1)?.length === 0);
  });

  it("after a session expiry it registers again under a new session and keeps its watches", async () => {
    const root = uniqueZookeeperRoot();
    const proxy = await ZookeeperProxy.start();
    const member = await ZookeeperDiscovery.connect({
      connect: proxy.connect,
      root,
      sessionTimeoutMs: 6000,
      logger,
    });
    const watcher = await open(root);
    cleanups.push(
      () => removeTestRoot(root),
      () => proxy.close(),
      () => watcher.close(),
      () => member.close(),
    );
    const lists: string[][] = [];
    watcher.watch(gw.service, (list) => lists.push(list.map((i) => i.id)));
    const own: string[][] = [];
    member.watch(gw.service, (list) => own.push(list.map((i) => i.id)));
    await member.register(gw);
    await waitFor(() => lists.at(-1)?.join() === "gw-1");
    const oldSession = member.session.id;

    proxy.cut(); // a partition, long enough for the server to drop the session
    await expireSession(member.session);
    await waitFor(() => lists.at(-1)?.length === 0); // gone for everybody meanwhile
    proxy.restore();
    await waitFor(() => !member.session.id.equals(oldSession), 10_000);
    const probe = await openClient(testZookeeperConnect, { sessionTimeoutMs: 5000, connectTimeoutMs: 5000 });
    try {
      await waitFor(async () => {
        const stat = await exists(probe, `${root}/services/${gw.service}/gw-1`);
        return stat?.ephemeralOwner.equals(member.session.id) ?? false;
      });
    } finally {
      await closeClient(probe);
    }
    await waitFor(() => lists.at(-1)?.join() === "gw-1"); // back for everybody

    await member.register({ ...gw, id: "gw-2" });
    await waitFor(() => own.at(-1)?.join() === "gw-1,gw-2" && lists.at(-1)?.join() === "gw-1,gw-2");
  });

  it("a registration whose node is still held by a dead session replaces it (fast restart)", async () => {
    const root = uniqueZookeeperRoot();
    const first = await open(root);
    cleanups.push(() => removeTestRoot(root));
    await first.register(gw);
    // The "restarted" process registers the same id while the first session still holds the node.
    const second = await open(root);
    cleanups.push(
      () => second.close(),
      () => first.close(),
    );
    await second.register({ ...gw, port: 19011 });
    const seen = await new Promise<readonly ServiceInstance[]>((resolve) =>
      second.watch(gw.service, resolve),
    );
    expect(seen.map((i) => i.port)).toEqual([19011]);
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
