import {
  StoreGroupMessageJob,
  StoreGroupMessageJobs,
  StoreP2PMessageJob,
  StoreP2PMessageJobs,
} from "../../../gen/ts/whaleshark/v1/store_job.js";
import type { Bus } from "../../../lib/ports/bus.js";
import { BATCH_HEADERS, declareStoreQueues, STORE_QUEUES } from "../../../lib/queues/store-queues.js";
import { activeTraceparent, batchTraceHeaders, tracingOn } from "../../../lib/tracing/index.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { type ChatMessage, toGroupContent, toMessageContent } from "./chat-message.js";

/** The device fields are not stored (store_job.proto), so jobs carry none. */
const NO_DEVICE = { clientType: 0, imei: "" };

/**
 * Most jobs in one bus message. Bounds a message's size (a job is a few hundred
 * bytes) and what one store prefetch slot holds.
 */
export const MAX_JOBS_PER_PUBLISH = 64;

interface Waiting<J> {
  job: J;
  /** The send's span when tracing is on (docs/tracing.md): the store's span of the job is its child. */
  trace: string | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/** How one queue's jobs are encoded alone and together. */
interface JobCodec<J> {
  one(job: J): Uint8Array;
  many(jobs: J[]): Uint8Array;
}

/**
 * The jobs of one queue published within one event-loop turn, sent as one bus
 * message (one publish, one confirm) at the end of the turn. Under load a turn
 * completes many sends (a gateway batch's kv replies arrive together), so the
 * broker, the journal and the store handle a message per batch, not per send.
 * A lone job goes out as a plain job, as before batches existed.
 */
class TurnPublisher<J> {
  #waiting: Waiting<J>[] = [];
  #scheduled = false;

  constructor(
    private readonly bus: Bus,
    private readonly queue: string,
    private readonly codec: JobCodec<J>,
  ) {}

  /** Resolves once the bus holds the message that carries `job`. */
  add(job: J): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ job, trace: activeTraceparent(), resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_JOBS_PER_PUBLISH);
      const lone = batch.length === 1 ? batch[0] : undefined;
      // Trace context per job (lib/tracing traceparent.ts): `traceparent` for a lone job, or a
      // batch whose jobs share one; `traceparents` in job order otherwise. None when tracing is off.
      const trace = tracingOn() ? batchTraceHeaders(batch.map((w) => w.trace)) : undefined;
      const published =
        lone !== undefined
          ? this.bus.publish(this.queue, this.codec.one(lone.job), trace)
          : this.bus.publish(this.queue, this.codec.many(batch.map((w) => w.job)), {
              ...BATCH_HEADERS,
              ...trace,
            });
      published.then(
        () => {
          for (const w of batch) w.resolve();
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
    }
  }
}

/**
 * Publishes persistence jobs (store_job.proto) on the store's queues
 * (lib/queues); a send is ACKed only after {@link publish} resolved.
 */
export class StoreJobPublisher {
  readonly #bus: Bus;
  readonly #p2p: TurnPublisher<StoreP2PMessageJob>;
  readonly #group: TurnPublisher<StoreGroupMessageJob>;
  #declared: Promise<void> | undefined;

  constructor(bus: Bus) {
    this.#bus = bus;
    this.#p2p = new TurnPublisher(bus, STORE_QUEUES.p2p, {
      one: (job) => StoreP2PMessageJob.encode(job).finish(),
      many: (jobs) => StoreP2PMessageJobs.encode({ jobs }).finish(),
    });
    this.#group = new TurnPublisher(bus, STORE_QUEUES.group, {
      one: (job) => StoreGroupMessageJob.encode(job).finish(),
      many: (jobs) => StoreGroupMessageJobs.encode({ jobs }).finish(),
    });
  }

  /**
   * Publishes the job of `message` on its queue, with the other jobs of this
   * turn. Resolves once the bus holds it (RabbitMQ: publisher confirm on a
   * durable queue; embedded: the journal's fdatasync), so the message
   * survives any one process dying from then on (docs/architecture.md §4 "No loss").
   * @throws when the bus did not take the job (the send fails, nothing was ACKed)
   */
  async publish(message: ChatMessage): Promise<void> {
    await this.#declare();
    const acceptedTime = message.acceptedTime;
    if (message.conversationType === GROUP) {
      // member_ids stay empty: the store does not keep them (store_job.proto).
      await this.#group.add({ message: toGroupContent(message, NO_DEVICE), acceptedTime });
    } else {
      await this.#p2p.add({ message: toMessageContent(message, NO_DEVICE), acceptedTime });
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
