import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SPANS } from "../../lib/tracing/index.js";
import { OtlpReceiver, type ReceivedSpan } from "../../lib/tracing/otlp-receiver.js";
import { seed } from "../cluster/support/app-client.js";
import { Devices, endpoint } from "../cluster/support/devices.js";
import { TestCluster } from "../support/cluster.js";
import { eventually } from "../support/harness/eventually.js";

/**
 * Issue 18 item 5: OpenTelemetry traces across a message's path, in the distributed profile.
 * Gateway, domain and store run as separate `whaleshark` processes with tracing on, exporting
 * OTLP/HTTP JSON to a receiver in this test; alice (on gateway-1) sends bob (on gateway-2) one
 * P2P message. Its spans, made in four processes (gateway-1 → domain → RabbitMQ → store, and →
 * gateway-2), must be ONE trace: the same trace id, every span's parent in the trace, in the
 * order of the path (docs/tracing.md).
 */

const BODY = "hello through every hop";

describe("tracing: one message is one trace across processes", () => {
  let receiver: OtlpReceiver;
  let cluster: TestCluster;
  let devices: Devices;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    cluster = await TestCluster.create({
      env: {
        WHALESHARK_TRACING__ENABLED: "true",
        WHALESHARK_TRACING__OTLP_ENDPOINT: receiver.url,
        // The SDK's batch span processor exports every 5 s by default; the test waits less.
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
    });
    await cluster.start("store", 1);
    await cluster.start("domain", 1);
    await cluster.startAll(["gateway", 1], ["gateway", 2]);
    devices = new Devices(cluster);
  }, 90_000);

  afterAll(async () => {
    devices?.closeAll();
    await cluster?.close();
    await receiver?.close();
  }, 30_000);

  it("gateway → domain → bus → store and → the delivering gateway share one trace id, each span under the one before", async () => {
    const [alice, bob] = ["alice", "bob"];
    await seed(cluster, { users: [alice, bob], friends: [[alice, bob]] });
    const alicePhone = await devices.connect({
      userId: alice,
      imei: "alice-phone",
      fixed: endpoint(cluster, "gateway-1", "tcp"),
      resend: {}, // the SDK's own resend timeout: a slow first ACK on a busy machine is not resent
    });
    const bobPhone = await devices.connect({
      userId: bob,
      imei: "bob-phone",
      fixed: endpoint(cluster, "gateway-2", "tcp"),
    });

    const ack = await alicePhone.client.sendP2P({ toId: bob, messageBody: BODY });
    expect(ack).toMatchObject({ code: 200, ok: true });
    const messageKey = String(ack.data?.messageKey);
    await eventually(
      () => bobPhone.messages.some((m) => String(m.message.messageKey) === messageKey),
      10_000,
      "bob gets the message",
    );

    const [gateway1, gateway2] = [cluster.member("gateway-1").nodeId, cluster.member("gateway-2").nodeId];
    // The send's own span; a resend the gateway joined to it, if any, is a root of its own.
    const root = (spans: readonly ReceivedSpan[]) =>
      spans.find(
        (s) =>
          s.name === SPANS.gatewaySend &&
          s.attributes["whaleshark.message_key"] === messageKey &&
          s.attributes["whaleshark.send.joined"] === false,
      );
    const inTrace = (spans: readonly ReceivedSpan[]) => {
      const r = root(spans);
      return r === undefined ? [] : spans.filter((s) => s.traceId === r.traceId);
    };
    const spans = inTrace(
      await receiver.waitFor((all) => {
        const names = new Set(inTrace(all).map((s) => `${s.name}@${s.instance}`));
        return (
          names.has(`${SPANS.domainSend}@${cluster.member("domain-1").nodeId}`) &&
          names.has(`${SPANS.storeWrite}@${cluster.member("store-1").nodeId}`) &&
          names.has(`${SPANS.gatewayDeliver}@${gateway2}`)
        );
      }, 30_000),
    );

    const one = (name: string, instance?: string): ReceivedSpan => {
      const found = spans.filter(
        (s) => s.name === name && (instance === undefined || s.instance === instance),
      );
      expect(found, `${name}@${instance ?? "any"}`).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };
    const send = one(SPANS.gatewaySend, gateway1);
    const domain = one(SPANS.domainSend);
    const store = one(SPANS.storeWrite);
    const deliver = one(SPANS.gatewayDeliver, gateway2);

    // One trace, started at the sending gateway, each hop's span under the previous hop's.
    expect(send.parentSpanId).toBe("");
    expect(domain.parentSpanId).toBe(send.spanId);
    expect(store.parentSpanId).toBe(domain.spanId);
    expect(deliver.parentSpanId).toBe(domain.spanId);
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans.filter((x) => x !== send))
      expect(ids, `${s.name}'s parent`).toContain(s.parentSpanId);

    // Each from its own process, under its role's service name.
    expect([send, domain, store, deliver].map((s) => s.service)).toEqual([
      "gateway",
      "domain",
      "store",
      "gateway",
    ]);
    expect(new Set([send, domain, store, deliver].map((s) => s.instance)).size).toBe(4);

    // Named by app, command and messageKey; never by content or credentials.
    for (const s of [send, domain, store]) expect(s.attributes["whaleshark.message_key"]).toBe(messageKey);
    expect(send.attributes).toMatchObject({ "whaleshark.app_id": 10001, "whaleshark.command": 1103 });
    expect(store.attributes["messaging.destination.name"]).toBe("store.p2p");
    expect(deliver.attributes["whaleshark.connections"]).toBe(1);
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain(BODY);
    expect(exported).not.toContain(cluster.sign(alice).slice(0, 24));
    expect(receiver.rejected).toBe(0);
  });
});
