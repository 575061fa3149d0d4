import type { Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";

/** A delivery without its data: who gets the frame and what to do with the connection. */
export type DeliveryTarget = Omit<Delivery, "dataJson" | "payloadIndex">;

/**
 * Builds the DeliveryBatch of one gateway node with each distinct payload
 * once (delivery.proto `payloads`): a group message to the 1 000 members
 * online on a node is one payload and 1 000 deliveries naming it, not 1 000
 * copies of its JSON on the bus and through the gateway's decoder.
 * Payloads are told apart by identity: pass the same bytes object for the
 * same data (the Pusher encodes each item's data once).
 */
export class DeliveryBatchBuilder {
  /** Stamped when the batch is begun: the gateway's delivery lag is measured from it. */
  readonly batch: DeliveryBatch = { deliveries: [], payloads: [], publishedAtMs: Date.now() };
  readonly #indexOf = new Map<Uint8Array, number>();

  /** Adds a delivery of `data` to `target`; returns the index of `data` in the batch's payloads. */
  add(target: DeliveryTarget, data: Buffer): number {
    let payloadIndex = this.#indexOf.get(data);
    if (payloadIndex === undefined) {
      payloadIndex = this.batch.payloads.length;
      this.batch.payloads.push(data);
      this.#indexOf.set(data, payloadIndex);
    }
    this.batch.deliveries.push({ ...target, dataJson: EMPTY, payloadIndex });
    return payloadIndex;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The frame data of a delivery of `batch`: the payload it names, or its own
 * `data_json` (publishers that send single frames). Undefined when it names
 * a payload the batch does not have.
 */
export function deliveryData(batch: DeliveryBatch, d: Delivery): Uint8Array | undefined {
  return d.payloadIndex === undefined ? d.dataJson : batch.payloads[d.payloadIndex];
}
