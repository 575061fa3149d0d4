import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { deliveryQueue } from "../../lib/sessions/session-record.js";
import { eventually } from "../support/harness/eventually.js";
import { APP_ID, type Infra, login, memoryInfra, metric, startTestGateway } from "./support/harness.js";
import { RawClient } from "./support/raw-client.js";

/**
 * Done-when of issue 3: a slow reader is disconnected at the outbound bound
 * (`gateway.sendQueueMaxBytes`) while other connections keep flowing (docs/style.md §9: bounded send
 * queues; the memory of a client that stops reading never grows past the bound).
 */
const QUEUE_BYTES = 64 * 1024;
const FRAME_DATA = JSON.stringify({ messageBody: "x".repeat(16 * 1024) });
let infra: Infra;
let gateway: GatewayHandle;
const clients: RawClient[] = [];

beforeEach(async () => {
  infra = memoryInfra();
  gateway = await startTestGateway({
    nodeId: "gw-slow",
    infra: await infra.instance(),
    overrides: { gateway: { sendQueueMaxBytes: QUEUE_BYTES, maxFrameBytes: 1024 } },
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gateway.stop();
  await infra.close();
});

function delivery(userId: string): Delivery {
  return {
    appId: APP_ID,
    userId,
    clientType: 0,
    imei: "",
    command: 1103,
    dataJson: Buffer.from(FRAME_DATA),
    closeAfter: false,
    connectionId: "",
  };
}

describe.each(["tcp", "ws"] as const)("a slow reader over %s", (kind) => {
  it("is closed at the bound while another connection receives every frame", async () => {
    const port = kind === "tcp" ? gateway.tcpPort : gateway.wsPort;
    const slow = await RawClient.connect(kind, port);
    const fast = await RawClient.connect(kind, port);
    clients.push(slow, fast);
    await login(slow, "slow-user");
    await login(fast, "fast-user");
    slow.pauseReading();

    const { bus } = await infra.instance();
    const perBatch = 16;
    let published = 0;
    // Loopback socket buffers hold a few MiB before the gateway's own queue starts to fill.
    for (let i = 0; i < 200; i++) {
      const deliveries = [];
      for (let j = 0; j < perBatch; j++) deliveries.push(delivery("slow-user"), delivery("fast-user"));
      await bus.publish(
        deliveryQueue(gateway.nodeId),
        DeliveryBatch.encode({ deliveries, payloads: [] }).finish(),
      );
      published += perBatch;
      if ((await metric(gateway, "whaleshark_gateway_send_queue_drops_total", { transport: kind })) > 0)
        break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(
      async () =>
        (await metric(gateway, "whaleshark_gateway_send_queue_drops_total", { transport: kind })) === 1,
    );
    expect(
      await metric(gateway, "whaleshark_gateway_connections_closed_total", { reason: "slow-consumer" }),
    ).toBe(1);
    expect(gateway.connectionCount()).toBe(1);

    // The fast reader got every frame meant for it, in full.
    await eventually(() => fast.frames.filter((f) => f.command === 1103).length === published, 10_000);
    const last = fast.frames.at(-1);
    expect(last?.payload.length).toBeGreaterThan(16 * 1024);
    expect(fast.closed).toBe(false);
  });
});
