import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus } from "../../lib/ports/bus.js";
import { DELIVERY_QUEUE_OPTIONS, deliveryQueue } from "../../lib/sessions/session-record.js";

/** One definition for gateways and publishers (lib/sessions). */
export { DELIVERY_QUEUE_OPTIONS };

/**
 * Publishes one DeliveryBatch per node (docs/architecture.md §2 step 5: one bus message per node, never per
 * device). It does not declare the queues: a missing queue means its node is gone. Resolves with
 * the nodes whose publish failed; never rejects, since a kick to a dead node must not fail a login.
 */
export async function publishBatches(bus: Bus, byNode: ReadonlyMap<string, Delivery[]>): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    [...byNode].map(async ([nodeId, deliveries]) => {
      try {
        await bus.publish(deliveryQueue(nodeId), DeliveryBatch.encode({ deliveries, payloads: [] }).finish());
      } catch {
        failed.push(nodeId);
      }
    }),
  );
  return failed;
}
