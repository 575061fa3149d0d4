import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsulDiscovery } from "../../adapters/consul/discovery.js";
import { ZookeeperDiscovery } from "../../adapters/zookeeper/discovery.js";
import { ConsulAgentDouble } from "../../testing/consul-agent-double.js";
import { removeTestRoot, testZookeeperConnect, uniqueZookeeperRoot } from "../../testing/zookeeper.js";
import { registerDiscoveryResolver } from "./discovery-resolver.js";

// Real grpc-js servers found through the real ZooKeeper: the resolver + round robin end to end.

const logger = pino({ level: "silent" });
const SERVICE = "test.who";
const identity = (b: Buffer) => b;
/** A one-method service answering with the server's name, so a test can see who served a call. */
const whoDefinition: grpc.ServiceDefinition = {
  whoami: {
    path: "/test.Who/Whoami",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

interface Member {
  name: string;
  server: grpc.Server;
  discovery: ZookeeperDiscovery;
}

describe("zk:/// resolver", () => {
  const root = uniqueZookeeperRoot();
  let resolverSide: ZookeeperDiscovery;
  let client: grpc.Client;
  const members: Member[] = [];

  const open = () =>
    ZookeeperDiscovery.connect({ connect: testZookeeperConnect, root, sessionTimeoutMs: 6000, logger });

  async function startMember(name: string): Promise<Member> {
    const server = new grpc.Server();
    server.addService(whoDefinition, {
      whoami: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const discovery = await open(); // each server is its own "process" with its own session
    await discovery.register({ service: SERVICE, id: name, host: "127.0.0.1", port, meta: {} });
    const member = { name, server, discovery };
    members.push(member);
    return member;
  }

  function call(deadlineMs = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        "/test.Who/Whoami",
        identity,
        identity,
        Buffer.alloc(0),
        { deadline: Date.now() + deadlineMs },
        (err, value) => (err ? reject(err) : resolve(value?.toString() ?? "")),
      );
    });
  }

  /** Calls until `n` answers in a row satisfy `ok`; resolves with the time it took. */
  async function until(ok: (who: string) => boolean, n = 10, timeoutMs = 8000): Promise<number> {
    const started = Date.now();
    let streak = 0;
    while (streak < n) {
      if (Date.now() - started > timeoutMs)
        throw new Error(`no ${n} good answers in a row within ${timeoutMs} ms`);
      const who = await call(1000).catch(() => "(failed)");
      streak = ok(who) ? streak + 1 : 0;
    }
    return Date.now() - started;
  }

  beforeAll(async () => {
    resolverSide = await open();
    registerDiscoveryResolver("zk", resolverSide);
    await startMember("a");
    await startMember("b");
    client = new grpc.Client(`zk:///${SERVICE}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    for (const m of members) {
      m.server.forceShutdown();
      await m.discovery.close();
    }
    await resolverSide?.close();
    await removeTestRoot(root);
  });

  it("balances calls over every registered instance (round robin)", async () => {
    await until((who) => who === "a" || who === "b", 1);
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push(await call());
    expect(answers.filter((w) => w === "a").length).toBe(10);
    expect(answers.filter((w) => w === "b").length).toBe(10);
  });

  it("stops calling an instance once it deregisters, within a bounded time", async () => {
    const b = members.find((m) => m.name === "b")!;
    await b.discovery.deregister(SERVICE, "b");
    const tookMs = await until((who) => who === "a", 20);
    expect(tookMs).toBeLessThan(3000);
  });

  it("picks up a new instance without a restart", async () => {
    await startMember("c");
    await until((who) => who === "c", 1);
    const answers = new Set<string>();
    for (let i = 0; i < 10; i++) answers.add(await call());
    expect([...answers].sort()).toEqual(["a", "c"]);
  });

  it("moves calls off an instance that died without deregistering", async () => {
    const c = members.find((m) => m.name === "c")!;
    c.server.forceShutdown(); // killed: its znode stays until the session expires
    const tookMs = await until((who) => who === "a", 20);
    expect(tookMs).toBeLessThan(3000);
  });

  it("fails fast with UNAVAILABLE when no instance is alive", async () => {
    for (const m of members) await m.discovery.deregister(SERVICE, m.name);
    const started = Date.now();
    let last: unknown;
    while (Date.now() - started < 5000) {
      last = await call(500).then(
        () => undefined,
        (err: unknown) => err,
      );
      if ((last as grpc.ServiceError | undefined)?.details?.includes("no live instance")) break;
    }
    expect((last as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((last as grpc.ServiceError).details).toContain(`no live instance of ${SERVICE}`);
    const failStarted = Date.now();
    await expect(call(2000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(Date.now() - failStarted).toBeLessThan(1000); // fails fast, not at the deadline
  });

  it("recovers when an instance comes back", async () => {
    await startMember("d");
    await until((who) => who === "d", 5);
  });
});

// The same resolver over Consul (the agent double: no Consul server runs here).
describe("consul:/// resolver", () => {
  it("balances over the passing instances and follows deregistration", async () => {
    const double = await ConsulAgentDouble.start();
    const discovery = new ConsulDiscovery({
      url: double.url,
      checkTtlMs: 10_000,
      deregisterAfterMs: 60_000,
      logger,
    });
    registerDiscoveryResolver("consul", discovery);
    const servers: grpc.Server[] = [];
    const client = new grpc.Client(`consul:///${SERVICE}`, grpc.credentials.createInsecure());
    const call = () =>
      new Promise<string>((resolve, reject) =>
        client.makeUnaryRequest(
          "/test.Who/Whoami",
          identity,
          identity,
          Buffer.alloc(0),
          { deadline: Date.now() + 2000 },
          (err, v) => (err ? reject(err) : resolve(v?.toString() ?? "")),
        ),
      );
    try {
      for (const name of ["x", "y"]) {
        const server = new grpc.Server();
        server.addService(whoDefinition, {
          whoami: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)),
        });
        const port = await new Promise<number>((resolve, reject) =>
          server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
            err ? reject(err) : resolve(p),
          ),
        );
        servers.push(server);
        await discovery.register({ service: SERVICE, id: name, host: "127.0.0.1", port, meta: {} });
      }
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await call());
      expect([...seen].sort()).toEqual(["x", "y"]);
      await discovery.deregister(SERVICE, "x");
      const deadline = Date.now() + 3000;
      let streak = 0;
      while (streak < 10 && Date.now() < deadline) streak = (await call()) === "y" ? streak + 1 : 0;
      expect(streak).toBe(10);
      expect(double.unexpected).toEqual([]);
    } finally {
      client.close();
      for (const s of servers) s.forceShutdown();
      await discovery.close();
      await double.close();
    }
  });
});
