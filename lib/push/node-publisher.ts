import type { Logger } from "pino";
import type { Bus } from "../ports/bus.js";
import { DELIVERY_QUEUE_OPTIONS, deliveryQueue } from "../sessions/session-record.js";

/** One definition for gateways and publishers (lib/sessions). */
export { DELIVERY_QUEUE_OPTIONS };

/** What goes to one gateway node: one bus message (a DeliveryBatch) and its headers, if any. */
export interface NodeMessage {
  body: Uint8Array;
  /** Bus headers of this node's message, e.g. the trace headers of its batch (docs/tracing.md). */
  headers?: Record<string, string>;
}

/** What a {@link NodePublisher} needs. */
export interface NodePublisherOptions {
  bus: Bus;
  logger: Logger;
  /** Current time in ms (tests). */
  now?: () => number;
}

/**
 * Publishes one message per gateway node on that node's delivery queue (`deliveryQueue(nodeId)`,
 * docs/architecture.md §2 step 5: one bus message per node, never per device). Every publisher of
 * deliveries goes through it: the push path (pusher.ts) and the gateway's multi-login kicks
 * (gateway/session/kick.ts).
 *
 * Failure rule: {@link publish} never rejects. It publishes to every node at once, so a node that
 * fails does not hold up or stop the others, and resolves with the nodes whose publish failed and
 * their errors. The caller decides what a failure means: the Pusher rejects the pushes that named
 * that node, a kick reports the node as unreachable and the login goes on.
 *
 * Queue rule: it declares the node's queue (with {@link DELIVERY_QUEUE_OPTIONS}) before it
 * publishes, remembers that for half the queue's expiry, and when a publish fails it declares
 * again and retries once. Why, for every caller:
 * - Both bus adapters refuse a publish to a queue that does not exist (lib/ports/bus.ts: "the
 *   queue must be declared"; RabbitMQ returns the mandatory message). A live node's queue can be
 *   missing for a while: a broker restart drops the transient classic queues until the gateway's
 *   consumer declares its queue again, and a queue expires when its gateway was cut off from the
 *   broker for longer than the expiry. Without a declare a push or a kick sent then is lost, and a
 *   kicked device would stay logged in against the multi-login mode (D24); with it the message
 *   waits in the queue for the gateway (docs/queues.md: a gateway finds its queue and what was
 *   queued meanwhile).
 * - A node that is gone for good costs one queue that nobody consumes, removed by its expiry
 *   (five minutes after the last declare). If the node id comes back, what waits there is what
 *   docs/queues.md intends for a gateway restarting under its node id; a kick in it names a
 *   connection id, unique across restarts (gateway/session/connection.ts `newConnectionId`), so it
 *   cannot close a newer connection.
 * So "failed" means the bus did not take the message (the broker refused it or could not be
 * reached), not that the node is gone: a kick to a dead node has no connection left to close.
 */
export class NodePublisher {
  readonly #bus: Bus;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Nodes whose delivery queue this process declared, with when (declared again after expiresMs/2). */
  readonly #declared = new Map<string, number>();

  constructor(opts: NodePublisherOptions) {
    this.#bus = opts.bus;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Publishes each node's message to its delivery queue, all nodes concurrently. Resolves, once
   * every node was tried, with the nodes whose publish failed (after one retry) and their errors;
   * empty when all went out. Never rejects.
   */
  async publish(messages: ReadonlyMap<string, NodeMessage>): Promise<Map<string, unknown>> {
    const failed = new Map<string, unknown>();
    await Promise.all(
      [...messages].map(async ([nodeId, message]) => {
        try {
          await this.#publishOne(nodeId, message);
        } catch (error) {
          this.#declared.delete(nodeId); // the next publish declares first
          failed.set(nodeId, error);
        }
      }),
    );
    return failed;
  }

  async #publishOne(nodeId: string, { body, headers }: NodeMessage): Promise<void> {
    const queue = deliveryQueue(nodeId);
    const declaredAt = this.#declared.get(nodeId);
    const fresh =
      declaredAt !== undefined && this.#now() - declaredAt < (DELIVERY_QUEUE_OPTIONS.expiresMs ?? 0) / 2;
    if (!fresh) await this.#declare(nodeId);
    try {
      await this.#bus.publish(queue, body, headers);
    } catch (error) {
      // The queue may be gone since it was declared here (expired, or a broker restart dropped it):
      // declare again, retry once.
      this.#logger.debug({ err: error, nodeId }, "delivery publish failed, redeclaring");
      await this.#declare(nodeId);
      await this.#bus.publish(queue, body, headers);
    }
  }

  async #declare(nodeId: string): Promise<void> {
    await this.#bus.declareQueue(deliveryQueue(nodeId), DELIVERY_QUEUE_OPTIONS);
    this.#declared.set(nodeId, this.#now());
  }
}
