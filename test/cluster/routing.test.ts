import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouteModel } from "../../gen/ts/whaleshark/v1/enums.js";
import { RouteServiceService } from "../../gen/ts/whaleshark/v1/route_service.js";
import type { AppClient } from "../../lib/app-client/index.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { ConsistentHashRing } from "../../lib/routing/index.js";
import { ADMIN_ID, NAMES, TestCluster } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";
import { appClient } from "./support/app-client.js";
import { endpoint, route } from "./support/devices.js";

/**
 * Gateway routing across processes (spec §4.6, issue 7): two domain processes answer
 * RouteService.GetGatewayAddress from the gateways registered in ZooKeeper. With the HASH route
 * model (the default) a user gets the same gateway from every call to either domain, the one the
 * original's consistent hash ring picks; when one of three gateways dies only its users move;
 * with none left the answer is 71000.
 */

const GATEWAYS = ["gateway-1", "gateway-2", "gateway-3"];
const name = (e: { host: string; port: number }) => `${e.host}:${e.port}`;

/** `user-<n>` ids, the first `count` the ring gives each of its nodes. */
function usersPerNode(ring: ConsistentHashRing, count: number): string[] {
  const byNode = new Map<string, string[]>();
  const nodes = new Set(ring.entries().map(([, node]) => node));
  for (let n = 0; n < 100_000 && [...nodes].some((x) => (byNode.get(x)?.length ?? 0) < count); n++) {
    const userId = `user-${n}`;
    const node = ring.lookup(userId) as string;
    const list = byNode.get(node) ?? [];
    if (list.length < count) byNode.set(node, [...list, userId]);
  }
  return [...byNode.values()].flat();
}

describe("consistent-hash routing on two domain processes", () => {
  let cluster: TestCluster;
  let domains: AppClient[] = [];
  /** The users routed, 8 per gateway by the ring (gateway ports, hence arcs, differ per run). */
  let users: string[] = [];
  /** Where each user was routed while all three gateways were up. */
  const before = new Map<string, string>();

  /** Every domain lists exactly `count` live TCP gateways (their registry views agree). */
  const domainsSeeGateways = (count: number) =>
    eventually(
      async () => {
        for (const d of domains) {
          const r = await d.call(RouteServiceService.listGateways, {});
          if (r.gateways.filter((g) => g.transport === 1).length !== count) return false;
        }
        return true;
      },
      20_000,
      `both domains list ${count} TCP gateway(s)`,
    );

  beforeAll(async () => {
    cluster = await TestCluster.create();
    await cluster.startAll(["domain", 1], ["domain", 2], ["gateway", 1], ["gateway", 2], ["gateway", 3]);
    domains = ["domain-1", "domain-2"].map((d) => {
      const at = cluster.member(d).instances[NAMES.domain];
      return appClient(cluster, ADMIN_ID, `${at?.host}:${at?.port}`);
    });
    await domainsSeeGateways(3);
  }, 60_000);

  afterAll(async () => {
    for (const d of domains) d.close();
    await cluster?.close();
  }, 30_000);

  it("gives a user the same gateway on every call to either domain: the spec's consistent hash", async () => {
    const tcp = GATEWAYS.map((g) => endpoint(cluster, g, "tcp"));
    const ws = GATEWAYS.map((g) => endpoint(cluster, g, "ws"));
    const tcpRing = new ConsistentHashRing(tcp.map(name));
    const wsRing = new ConsistentHashRing(ws.map(name));
    users = usersPerNode(tcpRing, 8);
    for (const userId of users) {
      const answers: string[] = [];
      for (const d of [...domains, ...domains]) answers.push(name(await route(d, userId, 3)));
      expect(new Set(answers)).toEqual(new Set([tcpRing.lookup(userId)]));
      before.set(userId, answers[0] as string);
      // Web clients (clientType 1) get a WebSocket endpoint, by the same hash over those.
      const web = await Promise.all(domains.map((d) => route(d, userId, 1)));
      expect(web.map((w) => w.transport)).toEqual(["ws", "ws"]);
      expect(web.map(name)).toEqual([wsRing.lookup(userId), wsRing.lookup(userId)]);
    }
    expect(new Set(before.values())).toEqual(new Set(tcp.map(name)));
    const listed = await (domains[0] as AppClient).call(RouteServiceService.listGateways, {});
    expect(listed.routeModel).toBe(RouteModel.ROUTE_MODEL_HASH);
  }, 30_000);

  it("moves only the users of a gateway that died, and answers 71000 when none is left", async () => {
    const gone = name(endpoint(cluster, "gateway-3", "tcp"));
    await cluster.kill("gateway-3"); // SIGKILL: it leaves when its ZooKeeper session expires (D25)
    await domainsSeeGateways(2);
    const ring = new ConsistentHashRing(
      ["gateway-1", "gateway-2"].map((g) => name(endpoint(cluster, g, "tcp"))),
    );
    let moved = 0;
    for (const userId of users) {
      const answers = (await Promise.all(domains.map((d) => route(d, userId, 3)))).map(name);
      const was = before.get(userId);
      if (was === gone) moved++;
      // A user of a surviving gateway keeps it; only gateway-3's users get a new one.
      expect(answers).toEqual(was === gone ? [ring.lookup(userId), ring.lookup(userId)] : [was, was]);
    }
    expect(moved).toBe(8);

    await Promise.all(["gateway-1", "gateway-2"].map((g) => cluster.member(g).member.stop(5000)));
    await domainsSeeGateways(0);
    for (const d of domains) {
      const error = await route(d, "user-0", 3).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(error && errorCodeOf(error)).toBe(71000); // clean stops deregistered at once
    }
  }, 40_000);
});
