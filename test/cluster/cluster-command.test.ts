import { afterAll, describe, expect, it } from "vitest";
import { ClusterMember, type LogLine, waitForInstances } from "../../app/cluster-member.js";
import type { ZookeeperDiscovery } from "../../lib/adapters/zookeeper/index.js";
import { ClusterResources, NAMES } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";
import { Devices } from "./support/devices.js";

/**
 * `whaleshark cluster` as a user runs it: it migrates, starts 2 stores, 2 domains and 2 gateways
 * as separate processes, prints where each listens, serves a login through the routing call, and
 * on SIGTERM stops every member and exits 0, leaving no process and no registration behind.
 */

interface Row {
  name: string;
  nodeId: string;
  pid: number;
  listens: Record<string, string>;
}

/** Whether a process id is still alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("whaleshark cluster", () => {
  let resources: ClusterResources | undefined;
  let discovery: ZookeeperDiscovery | undefined;
  let command: ClusterMember | undefined;
  let rows: Row[] = [];
  let devices: Devices | undefined;

  afterAll(async () => {
    devices?.closeAll();
    // On a failure nothing may outlive the test: the command stops its members on SIGTERM (also
    // mid-start-up); any member still alive after that (every log line names its pid) is killed.
    await command?.stop(20_000);
    const pids = new Set([...rows.map((r) => r.pid), ...(command?.logs ?? []).map((l) => Number(l.pid))]);
    for (const pid of pids) if (Number.isInteger(pid) && pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
    await discovery?.close();
    const gateways = rows.filter((r) => r.name.startsWith("gateway")).map((r) => r.nodeId);
    await resources?.remove(gateways);
  }, 30_000);

  it("starts six role processes, prints where they listen, and stops them all on SIGTERM", async () => {
    resources = await ClusterResources.create();
    command = ClusterMember.spawn({ name: "cluster", args: ["cluster"], env: resources.env });
    const ready: LogLine = await command.waitForLog((l) => l.msg === "cluster ready", 75_000);
    rows = ready.members as Row[];
    expect(rows.map((r) => r.name)).toEqual([
      "store-1",
      "store-2",
      "domain-1",
      "domain-2",
      "gateway-1",
      "gateway-2",
    ]);
    expect(new Set(rows.map((r) => r.nodeId)).size).toBe(6);
    expect(rows.every((r) => alive(r.pid))).toBe(true);
    expect(Object.keys(rows[4]?.listens ?? {}).sort()).toEqual([NAMES.gatewayTcp, NAMES.gatewayWs]);
    // The members found each other: both domains and both stores are registered.
    discovery = await resources.discovery();
    const live = (service: string) =>
      waitForInstances(discovery as ZookeeperDiscovery, service, () => true, 5000).then((l) => l.length);
    for (const service of [NAMES.domain, NAMES.store, NAMES.gatewayTcp]) expect(await live(service)).toBe(2);
    // A device gets a gateway from the routing call and logs in there.
    devices = new Devices(resources);
    const device = await devices.connect({ userId: "visitor", imei: "visitor-phone", reconnect: false });
    const gateways = rows.filter((r) => r.name.startsWith("gateway")).map((r) => r.listens[NAMES.gatewayTcp]);
    expect(gateways).toContain(device.gateways[0]);
    device.client.close();

    command.child.kill("SIGTERM");
    const exit = await command.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(command.logs.some((l) => l.msg === "cluster stopped" && l.code === 0)).toBe(true);
    expect(rows.filter((r) => alive(r.pid))).toEqual([]);
    // Clean stops deregister at once (no waiting for sessions to expire).
    await eventually(
      async () => {
        const counts = await Promise.all(
          [NAMES.domain, NAMES.store, NAMES.gatewayTcp, NAMES.gatewayWs].map(live),
        );
        return counts.every((n) => n === 0);
      },
      10_000,
      "every registration gone",
    );
  }, 85_000);
});
