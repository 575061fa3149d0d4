import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { eventually } from "../support/harness/eventually.js";
import { FakeDomain } from "./support/fake-domain.js";
import { type Infra, login, memoryInfra, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * `whaleshark_gateway_send_ack_seconds` (the dashboard's ACK latency and the WhaleSharkSendAckSlow
 * alert, deploy/monitoring): every send answered by its ACK is timed from its frame, by method and
 * outcome; other forwarded commands are not.
 */
const SECRET = "test-internal-secret-0123456789";
let infra: Infra;
let domain: FakeDomain;
let gateway: GatewayHandle;

beforeAll(async () => {
  infra = memoryInfra();
  domain = new FakeDomain();
  const address = await domain.start();
  gateway = await startTestGateway({
    nodeId: "gw-ack-metric",
    infra: await infra.instance(),
    overrides: { discovery: { domain: address }, domain: { internalSecret: SECRET } },
  });
});

afterAll(async () => {
  await gateway.stop();
  await domain.stop();
  await infra.close();
});

/** Count and sum of the histogram's series with these labels. */
async function ackTimes(labels: Record<string, string>): Promise<{ count: number; sum: number }> {
  const histogram = gateway.metrics.getSingleMetric("whaleshark_gateway_send_ack_seconds");
  if (histogram === undefined) throw new Error("whaleshark_gateway_send_ack_seconds is not registered");
  const { values } = await histogram.get();
  const matching = values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  const of = (suffix: string) =>
    matching
      .filter(
        (v) => (v as { metricName?: string }).metricName === `whaleshark_gateway_send_ack_seconds${suffix}`,
      )
      .reduce((n, v) => n + v.value, 0);
  return { count: of("_count"), sum: of("_sum") };
}

describe("whaleshark_gateway_send_ack_seconds", () => {
  it("times each send to its ACK by method and outcome, and nothing else", async () => {
    const c = await RawClient.connect("tcp", gateway.tcpPort);
    await login(c, "ack-metric-user", { clientType: 3, imei: "phone" });

    domain.behaviour = { delayMs: 150 };
    c.send({ command: 1103, body: { toId: "peer", messageId: "ack-m1", messageBody: "hi" } });
    expect((await c.next()).command).toBe(1046);
    c.send({ command: 2104, body: { groupId: "g1", messageId: "ack-m2", messageBody: "hi" } });
    expect((await c.next()).command).toBe(2047);

    domain.behaviour = { refuse: "FRIEND_IS_BLACK" };
    c.send({ command: 1103, body: { toId: "peer", messageId: "ack-m3" } });
    const refused = await c.next();
    expect(refused.command).toBe(1046);
    expect(refused.text).toContain('"ok":false');

    domain.behaviour = {};
    c.send({ command: 1106, body: { toId: "peer", messageSequence: 1 } }); // a read receipt: not a send
    await eventually(() => domain.of("markRead").length === 1);
    await new Promise((r) => setTimeout(r, 100)); // its answer is back at the gateway

    const p2pOk = await ackTimes({ method: "SendP2PMessage", outcome: "ok" });
    expect(p2pOk.count).toBe(1);
    expect(p2pOk.sum).toBeGreaterThanOrEqual(0.14); // the domain's 150 ms, timer granularity aside
    expect((await ackTimes({ method: "SendGroupMessage", outcome: "ok" })).count).toBe(1);
    expect((await ackTimes({ method: "SendP2PMessage", outcome: "failed" })).count).toBe(1);
    expect((await ackTimes({})).count).toBe(3);
    c.close();
  });
});
