import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import { GroupChatMessageContent } from "../../gen/ts/whaleshark/v1/message.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import type { BusConsumer } from "../../lib/ports/bus.js";
import { deliveryQueue } from "../../lib/sessions/session-record.js";
import { MessageEncoding } from "../../lib/wire/index.js";
import { GatewayMetrics } from "../gateway-metrics.js";
import { Connection } from "../session/connection.js";
import { LocalRegistry } from "../session/local-registry.js";
import { RecordingTransport } from "../transport/recording-transport.js";
import type { TransportKind } from "../transport/transport.js";
import { startDeliveryConsumer } from "./consumer.js";

const APP = 10001;
const NODE = "gw-test";
const logger = pino({ level: "silent" });

/** The command and payload of a server frame (spec §2.2). */
function parse(frame: Uint8Array | undefined): { command: number; payload: Uint8Array; text: string } {
  if (frame === undefined) throw new Error("no frame");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  return {
    command: view.getInt32(0),
    payload: frame.subarray(8),
    text: new TextDecoder().decode(frame.subarray(8)),
  };
}

const target = (userId: string, imei = ""): Omit<Delivery, "dataJson" | "payloadIndex"> => ({
  appId: APP,
  userId,
  clientType: 1,
  imei,
  command: Command.COMMAND_MSG_GROUP,
  closeAfter: false,
  connectionId: "",
});

describe("delivery consumer", () => {
  let bus: MemoryBus;
  let registry: LocalRegistry;
  let metrics: GatewayMetrics;
  let consumer: BusConsumer;

  /** A logged-in connection of `userId` on this node. */
  const connect = (userId: string, kind: TransportKind, encoding: number = MessageEncoding.JSON) => {
    const t = new RecordingTransport(kind);
    const conn = new Connection(
      t,
      { handle: async () => {}, frameError() {}, closed() {}, sent() {} },
      logger,
    );
    conn.state = "logged-in";
    conn.encoding = encoding;
    conn.session = {
      appId: APP,
      userId,
      clientType: 1,
      imei: `${userId}-dev`,
      nodeId: NODE,
      connectionId: conn.id,
      connectState: 1,
      messageType: encoding,
      loginAtMs: 0,
      lastSeenMs: 0,
    };
    registry.add(conn);
    registry.bind(conn, { appId: APP, userId, clientType: 1, imei: `${userId}-dev` });
    return t;
  };

  const publish = async (batch: DeliveryBatch) => {
    await bus.publish(deliveryQueue(NODE), DeliveryBatch.encode(batch).finish());
    await new Promise((r) => setTimeout(r, 20));
  };

  const count = async (result: string) =>
    (await metrics.deliveries.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  beforeEach(async () => {
    bus = new MemoryBus();
    registry = new LocalRegistry();
    metrics = new GatewayMetrics(new Registry());
    consumer = await startDeliveryConsumer({ bus, nodeId: NODE, registry, metrics, logger });
  });
  afterEach(async () => {
    await consumer.stop();
    await bus.close();
  });

  it("writes a shared payload to every connection it targets, in each connection's encoding", async () => {
    const tcp = connect("a", "tcp");
    const ws = connect("b", "ws");
    const pb = connect("c", "tcp", MessageEncoding.PROTOBUF);
    const data = { groupId: "g1", messageBody: "hello", messageKey: 7 };
    await publish({
      payloads: [Buffer.from(JSON.stringify(data))],
      deliveries: ["a", "b", "c"].map((u) => ({ ...target(u), dataJson: Buffer.alloc(0), payloadIndex: 0 })),
    });

    expect(parse(tcp.written[0])).toMatchObject({ command: 2104, text: JSON.stringify(data) });
    const wsFrame = JSON.parse(parse(ws.written[0]).text) as Record<string, unknown>;
    expect(wsFrame).toMatchObject({ command: 2104, toId: "b", data });
    const decoded = GroupChatMessageContent.decode(parse(pb.written[0]).payload);
    expect(decoded).toMatchObject({ groupId: "g1", messageBody: "hello", messageKey: 7 });
    expect(await count("written")).toBe(3);
  });

  it("observes each batch's delivery lag from its publish time, and none for a batch without one", async () => {
    connect("a", "tcp");
    const lag = async () => (await metrics.deliveryLag.get()).values;
    const countOf = async () => (await lag()).find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
    const sumOf = async () => (await lag()).find((v) => v.metricName?.endsWith("_sum"))?.value ?? 0;
    await publish({ payloads: [], deliveries: [{ ...target("a"), dataJson: Buffer.from("{}") }] });
    expect(await countOf()).toBe(0);
    await publish({
      payloads: [],
      deliveries: [{ ...target("a"), dataJson: Buffer.from("{}") }],
      publishedAtMs: Date.now() - 1500,
    });
    expect(await countOf()).toBe(1);
    expect(await sumOf()).toBeGreaterThanOrEqual(1.5);
    expect(await sumOf()).toBeLessThan(5);
  });

  it("still takes deliveries that carry their own data_json (no payload index)", async () => {
    const tcp = connect("a", "tcp");
    await publish({
      payloads: [],
      deliveries: [{ ...target("a"), dataJson: Buffer.from('{"groupId":"old"}') }],
    });
    expect(parse(tcp.written[0]).text).toBe('{"groupId":"old"}');
  });

  it("drops and counts deliveries naming a payload the batch lacks, and delivers the rest", async () => {
    const a = connect("a", "tcp");
    const b = connect("b", "tcp");
    await publish({
      payloads: [Buffer.from('{"groupId":"g"}')],
      deliveries: [
        { ...target("a"), dataJson: Buffer.alloc(0), payloadIndex: 3 },
        { ...target("b"), dataJson: Buffer.alloc(0), payloadIndex: 0 },
      ],
    });
    expect(a.written).toHaveLength(0);
    expect(parse(b.written[0]).text).toBe('{"groupId":"g"}');
    expect(await count("malformed")).toBe(1);
    expect(await count("written")).toBe(1);
  });
});
