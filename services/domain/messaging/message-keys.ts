import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { MESSAGE_KEY_MAX_WORKER_ID, MessageKeyGenerator } from "../../../lib/ids/index.js";
import type { KvStore } from "../../../lib/ports/kv.js";

/** kv key of the lease on one messageKey worker id. */
export function workerLeaseKey(workerId: number): string {
  return `messageKeyWorker:${workerId}`;
}

/** What a {@link MessageKeys} needs. */
export interface MessageKeysOptions {
  kv: KvStore;
  log: Logger;
  /** Names the lease holder (config `nodeId`). */
  nodeId: string;
  /** A configured worker id (config `workerId`): used as is, no lease. */
  workerId?: number | undefined;
  /** Lease lifetime in kv (default 30 s); renewed every third of it. */
  leaseTtlMs?: number;
}

/**
 * messageKeys for this process (spec §5.10, lib/ids). Keys of different
 * processes are distinct only if their worker ids are, and a collision is a
 * lost message (the store keeps the first message of a key). The worker id
 * is config `workerId` when set (recommended for fixed deployments),
 * otherwise leased in kv: the first free of 0–31 from a random start, held
 * with a TTL and renewed every third of it. When a renewal finds the lease
 * gone (kv lost its data) it takes it back; when another process holds it
 * now, this process leases a new id and switches its generator before the
 * next key.
 */
export class MessageKeys {
  readonly #opts: MessageKeysOptions;
  readonly #token = randomBytes(8).toString("hex");
  readonly #ttlMs: number;
  #generator: MessageKeyGenerator | undefined;
  #ready: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: MessageKeysOptions) {
    this.#opts = opts;
    this.#ttlMs = opts.leaseTtlMs ?? 30_000;
    if (opts.workerId !== undefined) this.#generator = new MessageKeyGenerator(opts.workerId);
  }

  /** The worker id in use (after the first {@link next}). */
  get workerId(): number | undefined {
    return this.#generator?.workerId;
  }

  /**
   * The next messageKey.
   * @throws Error when every worker id is leased by other processes
   */
  async next(): Promise<number> {
    if (this.#generator === undefined) {
      this.#ready ??= this.#lease().finally(() => {
        this.#ready = undefined;
      });
      await this.#ready;
    }
    return (this.#generator as MessageKeyGenerator).next();
  }

  /** Stops renewing and frees the lease. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const id = this.#leased();
    if (id !== undefined && (await this.#opts.kv.get(workerLeaseKey(id))) === this.#value()) {
      await this.#opts.kv.del(workerLeaseKey(id));
    }
  }

  #value(): string {
    return `${this.#opts.nodeId}#${this.#token}`;
  }

  /** The leased worker id, undefined with a configured one or none yet. */
  #leased(): number | undefined {
    return this.#opts.workerId === undefined ? this.#generator?.workerId : undefined;
  }

  async #lease(): Promise<void> {
    const count = MESSAGE_KEY_MAX_WORKER_ID + 1;
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      const id = (start + i) % count;
      if (
        await this.#opts.kv.set(workerLeaseKey(id), this.#value(), { ifAbsent: true, ttlMs: this.#ttlMs })
      ) {
        this.#generator = new MessageKeyGenerator(id);
        this.#opts.log.info({ workerId: id }, "leased messageKey worker id");
        if (this.#timer === undefined && !this.#closed) {
          this.#timer = setInterval(() => void this.#renew(), this.#ttlMs / 3);
          this.#timer.unref();
        }
        return;
      }
    }
    throw new Error("no free messageKey worker id (all 32 leased): set workerId in the config");
  }

  async #renew(): Promise<void> {
    const id = this.#leased();
    if (id === undefined || this.#closed) return;
    const key = workerLeaseKey(id);
    try {
      const holder = await this.#opts.kv.get(key);
      if (holder === this.#value()) {
        await this.#opts.kv.expire(key, this.#ttlMs);
      } else if (
        holder === null &&
        (await this.#opts.kv.set(key, this.#value(), { ifAbsent: true, ttlMs: this.#ttlMs }))
      ) {
        this.#opts.log.warn({ workerId: id }, "messageKey worker lease was lost; took it back");
      } else {
        this.#opts.log.warn(
          { workerId: id },
          "messageKey worker id taken by another process; leasing a new one",
        );
        this.#generator = undefined; // the next key waits for a new lease
      }
    } catch (error) {
      this.#opts.log.warn({ err: error, workerId: id }, "messageKey worker lease renewal failed");
    }
  }
}
