import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus, QueueOptions } from "../../lib/ports/bus.js";
import { deliveryQueue } from "../../lib/sessions/session-record.js";

/**
 * How a gateway declares its delivery queue; the domain's pusher declares it with the very same
 * options (services/domain/push/pusher.ts; a broker refuses a redeclare with other arguments).
 * Not durable: a device that misses a push catches up through sync (DESIGN §4), so pushes skip
 * the broker's disk. Deleted five minutes after its gateway stopped consuming, so a dead node's
 * queue does not pile up.
 */
export const DELIVERY_QUEUE_OPTIONS: QueueOptions = { durable: false, expiresMs: 5 * 60_000 };

/**
 * Publishes one DeliveryBatch per node (DESIGN §2 step 5: one bus message per node, never per
 * device). It does not declare the queues: a missing queue means its node is gone. Resolves with
 * the nodes whose publish failed; never rejects, since a kick to a dead node must not fail a login.
 */
export async function publishBatches(bus: Bus, byNode: ReadonlyMap<string, Delivery[]>): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    [...byNode].map(async ([nodeId, deliveries]) => {
      try {
        await bus.publish(deliveryQueue(nodeId), DeliveryBatch.encode({ deliveries }).finish());
      } catch {
        failed.push(nodeId);
      }
    }),
  );
  return failed;
}
