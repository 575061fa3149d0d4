import { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import type { Bus } from "../../../lib/ports/bus.js";
import { declareStoreQueues, STORE_QUEUES } from "../../../lib/queues/store-queues.js";
import { type ChatMessage, GROUP, toGroupContent, toMessageContent } from "./chat-message.js";

/** The device fields are not stored (store_job.proto), so jobs carry none. */
const NO_DEVICE = { clientType: 0, imei: "" };

/**
 * Publishes persistence jobs (store_job.proto) on the store's queues
 * (lib/queues); a send is ACKed only after {@link publish} resolved.
 */
export class StoreJobPublisher {
  readonly #bus: Bus;
  #declared: Promise<void> | undefined;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /**
   * Publishes the job of `message` on its queue. Resolves once the bus holds
   * it (RabbitMQ: publisher confirm on a durable queue), so the message
   * survives any one process dying from then on (DESIGN.md §4 "No loss").
   * @throws when the bus did not take the job (the send fails, nothing was ACKed)
   */
  async publish(message: ChatMessage): Promise<void> {
    await this.#declare();
    const acceptedTime = message.acceptedTime;
    if (message.conversationType === GROUP) {
      // member_ids stay empty: the store does not keep them (store_job.proto).
      const job = StoreGroupMessageJob.encode({
        message: toGroupContent(message, NO_DEVICE),
        acceptedTime,
      });
      await this.#bus.publish(STORE_QUEUES.group, job.finish());
    } else {
      const job = StoreP2PMessageJob.encode({ message: toMessageContent(message, NO_DEVICE), acceptedTime });
      await this.#bus.publish(STORE_QUEUES.p2p, job.finish());
    }
  }

  /** Declares both durable queues once per process (retried after a failure; fixes D32's non-durable topology). */
  #declare(): Promise<void> {
    this.#declared ??= declareStoreQueues(this.#bus).then(
      () => undefined,
      (error: unknown) => {
        this.#declared = undefined;
        throw error;
      },
    );
    return this.#declared;
  }
}
