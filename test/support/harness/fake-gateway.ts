import { type Delivery, DeliveryBatch } from "../../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus, BusConsumer } from "../../../lib/ports/bus.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { DELIVERY_QUEUE_OPTIONS } from "../../../lib/push/pusher.js";
import {
  deliveryQueue,
  encodeSession,
  sessionField,
  sessionKey,
} from "../../../lib/sessions/session-record.js";
import { APP_ID } from "./app.js";

/** One frame a fake gateway node received. */
export interface Received {
  node: string;
  userId: string;
  clientType: number;
  imei: string;
  command: number;
  data: Record<string, unknown>;
}

/**
 * Gateway nodes that exist only as sessions in kv and a consumer of their delivery queues: what the
 * domain pushes to a node lands in `received` (decoded) instead of on sockets, for tests of the
 * domain without a real gateway.
 */
export class FakeGateways {
  /** Everything received so far, in arrival order; tests take it with `splice`. */
  readonly received: Received[] = [];
  readonly #batches = new Map<string, number>();
  readonly #nodes = new Set<string>();
  readonly #consumers: BusConsumer[] = [];

  constructor(
    private readonly kv: KvStore,
    private readonly bus: Bus,
  ) {}

  /** Starts draining node `node`'s delivery queue (once per node). */
  async watch(node: string): Promise<void> {
    if (this.#nodes.has(node)) return;
    this.#nodes.add(node);
    await this.bus.declareQueue(deliveryQueue(node), DELIVERY_QUEUE_OPTIONS);
    this.#consumers.push(
      await this.bus.consume(deliveryQueue(node), async (msg) => {
        this.#batches.set(node, (this.#batches.get(node) ?? 0) + 1);
        const batch = DeliveryBatch.decode(msg.body);
        for (const d of batch.deliveries as Delivery[]) {
          // A delivery names its data in the batch's shared payloads (delivery.proto payload_index), or carries it.
          const dataJson = d.payloadIndex === undefined ? d.dataJson : batch.payloads[d.payloadIndex];
          if (dataJson === undefined) throw new Error(`payload_index ${d.payloadIndex} out of range`);
          this.received.push({
            node,
            userId: d.userId,
            clientType: d.clientType,
            imei: d.imei,
            command: d.command,
            data: JSON.parse(Buffer.from(dataJson).toString("utf8")) as Record<string, unknown>,
          });
        }
      }),
    );
  }

  /** Marks a device of the test app online on node `node`, as that node's SessionStore would. */
  async online(userId: string, clientType: number, imei: string, node: string): Promise<void> {
    await this.watch(node);
    const now = Date.now();
    await this.kv.hset(sessionKey(APP_ID, userId), {
      [sessionField(clientType, imei)]: encodeSession({
        appId: APP_ID,
        userId,
        clientType,
        imei,
        nodeId: node,
        connectionId: `${userId}-${imei}`,
        connectState: 1,
        messageType: 0,
        loginAtMs: now,
        lastSeenMs: now,
      }),
    });
  }

  /** Delivery batches (bus messages) per node since the last call. */
  batches(): Map<string, number> {
    const copy = new Map(this.#batches);
    this.#batches.clear();
    return copy;
  }

  /** Stops the consumers (the bus stays open). */
  async close(): Promise<void> {
    for (const c of this.#consumers.splice(0)) await c.stop();
  }
}
