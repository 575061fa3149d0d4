import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { discoveryContract } from "../../ports/discovery.contract.js";
import type { ServiceInstance } from "../../ports/discovery.js";
import { ConsulAgentDouble } from "../../testing/consul-agent-double.js";
import { ConsulDiscovery } from "./discovery.js";

// No Consul server can run where the tests run: every test here talks to ConsulAgentDouble, an
// HTTP double of the four agent endpoints the adapter uses (see lib/testing/consul-agent-double.ts).

const logger = pino({ level: "silent" });

const open = (double: ConsulAgentDouble, checkTtlMs = 10_000) =>
  new ConsulDiscovery({ url: double.url, checkTtlMs, deregisterAfterMs: 60_000, logger, watchWaitMs: 2000 });

discoveryContract("consul (agent double)", async () => {
  const double = await ConsulAgentDouble.start();
  return {
    open: async () => open(double),
    cleanup: async () => {
      expect(double.unexpected).toEqual([]);
      await double.close();
    },
  };
});

// Consul-only: TTL checks and an agent that forgets its services.
describe("ConsulDiscovery TTL checks", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const gw: ServiceInstance = {
    service: "whaleshark.gateway.ws",
    id: "gw-1",
    host: "10.0.0.7",
    port: 19002,
    meta: { nodeId: "gw-1" },
  };

  async function setup(checkTtlMs: number) {
    const double = await ConsulAgentDouble.start();
    const member = open(double, checkTtlMs);
    const watcher = open(double);
    cleanups.push(
      () => double.close(),
      () => watcher.close(),
      () => member.close(),
    );
    const lists: string[][] = [];
    watcher.watch(gw.service, (list) => lists.push(list.map((i) => `${i.id}@${i.host}:${i.port}`)));
    return { double, member, lists };
  }

  it("registers <service>:<id> with a passing TTL check and keeps it passing past the TTL", async () => {
    const { double, member, lists } = await setup(600);
    await member.register(gw);
    await waitFor(() => lists.at(-1)?.join() === "gw-1@10.0.0.7:19002");
    await new Promise((r) => setTimeout(r, 1500)); // 2.5 TTLs
    expect(double.checks()).toEqual({ "whaleshark.gateway.ws:gw-1": "passing" });
    expect(lists.at(-1)).toEqual(["gw-1@10.0.0.7:19002"]);
  });

  it("drops an instance whose process stopped passing its check once the TTL is over", async () => {
    const { double, lists } = await setup(10_000);
    // A process that registered with a 700 ms TTL and died: nobody passes its check.
    const res = await fetch(`${double.url}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({
        Name: gw.service,
        ID: `${gw.service}:dead`,
        Address: "10.0.0.9",
        Port: 19002,
        Check: { TTL: "700ms", Status: "passing", DeregisterCriticalServiceAfter: "1m" },
      }),
    });
    expect(res.status).toBe(200);
    await waitFor(() => lists.at(-1)?.join() === "dead@10.0.0.9:19002");
    const started = Date.now();
    await waitFor(() => lists.at(-1)?.length === 0, 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it("registers again when the agent forgot the service (agent restart)", async () => {
    const { double, member, lists } = await setup(600);
    await member.register(gw);
    await waitFor(() => lists.at(-1)?.join() === "gw-1@10.0.0.7:19002");
    double.forgetAll();
    await waitFor(() => lists.at(-1)?.length === 0);
    await waitFor(() => lists.at(-1)?.join() === "gw-1@10.0.0.7:19002", 3000); // within a TTL/3 tick
    expect(double.checks()).toEqual({ "whaleshark.gateway.ws:gw-1": "passing" });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
