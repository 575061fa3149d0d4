import type { Logger } from "pino";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { type Delivery, DeliveryBatch } from "../../gen/ts/whaleshark/v1/delivery.js";
import type { Bus, BusConsumer, BusMessage } from "../../lib/ports/bus.js";
import { deliveryData } from "../../lib/push/delivery-batch.js";
import { DELIVERY_QUEUE_OPTIONS, deliveryQueue } from "../../lib/sessions/session-record.js";
import { DeliverySpans, tracingOn } from "../../lib/tracing/index.js";
import type { GatewayMetrics } from "../gateway-metrics.js";
import type { Connection } from "../session/connection.js";
import type { LocalRegistry } from "../session/local-registry.js";

/** Options of {@link startDeliveryConsumer}. */
export interface DeliveryConsumerOptions {
  bus: Bus;
  nodeId: string;
  registry: LocalRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Batches handled at once (default 16); writes are synchronous, so this mostly overlaps decoding. */
  prefetch?: number;
}

/** The local connections a Delivery names (spec §5.1: exactly those, nothing else). */
function targetsOf(registry: LocalRegistry, d: Delivery): Connection[] {
  if (d.connectionId !== "") {
    const conn = registry.byId(d.connectionId);
    const b = conn === undefined ? undefined : registry.bindingOf(conn);
    // The id must still belong to the named user: ids are per node and a stale one must not hit
    // whoever holds it now.
    return conn !== undefined && b !== undefined && b.appId === d.appId && b.userId === d.userId
      ? [conn]
      : [];
  }
  if (d.imei !== "") {
    const conn = registry.ofDevice(d.appId, d.userId, d.clientType, d.imei);
    return conn === undefined ? [] : [conn];
  }
  return registry.ofUser(d.appId, d.userId);
}

/**
 * Writes one Delivery to its connections. `command` 0 (COMMAND_UNSPECIFIED) writes nothing: with
 * `close_after` it closes an older connection of a device that logged in again elsewhere
 * (`replaced`); otherwise `close_after` closes after writing (a multi-login kick, D24). `data` is
 * shared by every delivery of the same payload (never copied per connection or delivery).
 */
function deliver(
  d: Delivery,
  data: Uint8Array,
  targets: readonly Connection[],
  metrics: GatewayMetrics,
  log: Logger,
): void {
  for (const conn of targets) {
    if (d.command !== Command.COMMAND_UNSPECIFIED) {
      try {
        conn.sendPush(d.command, data);
        metrics.deliveries.inc({ result: "written" });
      } catch (err) {
        // A Protobuf connection whose payload cannot be built from data_json: the domain's bug,
        // not the device's; drop this one frame.
        metrics.deliveries.inc({ result: "encode-failed" });
        metrics.error("delivery-encode-failed");
        log.warn(
          { err, command: d.command, connId: conn.id },
          "delivery cannot be encoded for this connection",
        );
      }
    }
    if (d.closeAfter) conn.close(d.command === Command.COMMAND_MUTALOGIN ? "kicked" : "replaced");
  }
}

/**
 * Consumes this node's delivery queue (`deliveryQueue(nodeId)`, docs/architecture.md §2 step 6):
 * each bus message is one DeliveryBatch holding every frame of one push for this node, each
 * distinct payload once. Each Delivery goes to exactly the local connections it names (a connection id, a device, or every
 * device of the user); a target this node no longer holds is dropped and counted
 * (`deliveries_total{result="unknown-target"}`), as the device catches up through sync. A batch
 * that does not decode is counted and acked (retrying cannot fix it). Never throws into the bus.
 */
export async function startDeliveryConsumer(options: DeliveryConsumerOptions): Promise<BusConsumer> {
  const { bus, registry, metrics } = options;
  const log = options.logger.child({ component: "delivery" });
  const queue = deliveryQueue(options.nodeId);
  await bus.declareQueue(queue, DELIVERY_QUEUE_OPTIONS);
  const handle = async (msg: BusMessage): Promise<void> => {
    let batch: DeliveryBatch;
    try {
      batch = DeliveryBatch.decode(msg.body);
    } catch (err) {
      metrics.error("delivery-malformed");
      log.warn({ err, bytes: msg.body.length }, "malformed delivery batch dropped");
      return;
    }
    if (batch.publishedAtMs !== undefined) {
      metrics.deliveryLag.observe(Math.max(0, Date.now() - batch.publishedAtMs) / 1000);
    }
    // With tracing on, a span per traced message of the batch under its send's (docs/tracing.md).
    const spans = tracingOn() ? DeliverySpans.of(msg.headers, queue) : undefined;
    let unresolved = 0;
    for (const d of batch.deliveries) {
      const data = deliveryData(batch, d);
      if (data === undefined) {
        unresolved++;
        continue;
      }
      const targets = targetsOf(registry, d);
      spans?.delivered(d.payloadIndex, d.appId, d.command, targets.length);
      if (targets.length === 0) {
        metrics.deliveries.inc({ result: "unknown-target" });
        continue;
      }
      deliver(d, data, targets, metrics, log);
    }
    spans?.end();
    if (unresolved > 0) {
      // A publisher's bug; the rest of the batch was still delivered.
      metrics.deliveries.inc({ result: "malformed" }, unresolved);
      metrics.error("delivery-malformed");
      log.warn(
        { unresolved, payloads: batch.payloads.length },
        "deliveries naming a missing payload dropped",
      );
    }
  };
  return bus.consume(queue, handle, { prefetch: options.prefetch ?? 16 });
}
