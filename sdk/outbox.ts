import type { MessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { ClientError } from "./client-error.js";

/** How sends are retried until their ACK arrives (spec §5.5 client retry model). */
export interface ResendPolicy extends BackoffPolicy {
  /** Sends per message, the first included; after the last one's wait the send fails. */
  maxAttempts: number;
  /**
   * ACK codes that mean "try again later" rather than "no": the message stays pending and is
   * resent with the same messageId (e.g. 500/90000 when the domain was down, D22).
   */
  retryableCodes: readonly number[];
}

interface Pending {
  readonly messageId: string;
  readonly ackCommand: number;
  /** The encoded frame, reused byte for byte by every resend (same messageId, same messageTime). */
  readonly frame: Uint8Array;
  /** queued: waits for a slot, never written; flying: holds a slot of the window; done: settled. */
  state: "queued" | "flying" | "done";
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(ack: MessageAck): void;
  reject(error: ClientError): void;
}

/** What an Outbox needs besides the resend policy and the writer. */
export interface OutboxOptions {
  /** Sends written and not yet ACKed at most; later ones wait in a FIFO queue (default: no bound). */
  maxInFlight?: number;
  /** Randomness for backoff jitter (default Math.random). */
  random?: () => number;
}

/**
 * The messages sent and not yet acknowledged, keyed by messageId.
 *
 * Contract: at most `maxInFlight` messages hold a slot of the window (written, or due to be written
 * at the next `flush`, and not yet settled); later ones wait in a FIFO queue, unwritten, and take
 * the slots in call order as ACKs, refusals and timeouts free them, so the writes keep the call
 * order (and with it each conversation's order). A message in the window is written, then
 * rewritten with the same bytes after a backoff delay until its ACK arrives or `maxAttempts`
 * writes went unanswered; a retryable refusal keeps its slot. Attempts are counted only for writes
 * that reached an open connection, and the first delay starts at the first real write; while
 * disconnected the timers stop (`pause`), the queue stays, and `flush` rewrites the window after a
 * reconnect, then goes on with the queue. The server dedupes by messageId (DESIGN §4), so a resend
 * never stores a message twice.
 */
export class Outbox {
  /** Every unsettled message, in call order. */
  readonly #pending = new Map<string, Pending>();
  /** The window: messages holding a slot, in the order they took it (= call order). */
  readonly #flying = new Set<Pending>();
  /** Waiting for a slot, from `#head` on; entries settled while queued are skipped when reached. */
  #queue: Pending[] = [];
  #head = 0;
  #queued = 0;
  #pumping = false;
  readonly #maxInFlight: number;
  readonly #random: () => number;

  constructor(
    private readonly policy: ResendPolicy,
    /** Writes a frame; false when there is no open connection. */
    private readonly write: (frame: Uint8Array) => boolean,
    options: OutboxOptions = {},
  ) {
    const max = options.maxInFlight ?? Number.POSITIVE_INFINITY;
    if (!(max >= 1 && (Number.isSafeInteger(max) || max === Number.POSITIVE_INFINITY))) {
      throw new RangeError(`maxInFlight must be an integer ≥ 1 or Infinity: ${max}`);
    }
    this.#maxInFlight = max;
    this.#random = options.random ?? Math.random;
  }

  /** Messages still waiting for their ACK, in flight or queued. */
  get size(): number {
    return this.#pending.size;
  }

  /** Messages holding a slot of the window (written and not yet ACKed, or due at the next flush). */
  get inFlight(): number {
    return this.#flying.size;
  }

  /** Messages waiting for a slot, not written yet. */
  get queued(): number {
    return this.#queued;
  }

  /** True when `messageId` is waiting for its ACK (in flight or queued). */
  has(messageId: string): boolean {
    return this.#pending.has(messageId);
  }

  /**
   * Sends `frame` (at once when the window has room, else after the sends queued before it) and
   * resolves with its ACK; rejects with a ClientError (refused, ack-timeout, …).
   */
  add(messageId: string, ackCommand: number, frame: Uint8Array): Promise<MessageAck> {
    if (this.#pending.has(messageId)) {
      return Promise.reject(new Error(`messageId ${messageId} is already pending`));
    }
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        messageId,
        ackCommand,
        frame,
        state: "queued",
        attempts: 0,
        timer: undefined,
        resolve,
        reject,
      };
      this.#pending.set(messageId, entry);
      this.#queue.push(entry);
      this.#queued++;
      this.#pump();
    });
  }

  /**
   * Matches an ACK (1046/2047) to its message: resolves it when ok, rejects it when refused with a
   * final code, leaves it pending (in its slot) when the code is retryable. False when nothing
   * matched (a late or foreign ACK).
   */
  ack(ackCommand: number, ack: MessageAck): boolean {
    const entry = this.#pending.get(ack.data?.messageId ?? "");
    if (entry === undefined || entry.ackCommand !== ackCommand) return false;
    if (!ack.ok && this.policy.retryableCodes.includes(ack.code)) return true;
    this.#settle(entry);
    if (ack.ok) entry.resolve(ack);
    else entry.reject(new ClientError("refused", { code: ack.code, msg: ack.msg }));
    this.#pump();
    return true;
  }

  /** Fails `messageId` for good (an error frame named it); false when it was not pending. */
  refuse(messageId: string, error: ClientError): boolean {
    const entry = this.#pending.get(messageId);
    if (entry === undefined) return false;
    this.#settle(entry);
    entry.reject(error);
    this.#pump();
    return true;
  }

  /** Stops every resend timer (the connection is gone; attempts are not spent while offline). */
  pause(): void {
    for (const entry of this.#flying) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /**
   * Rewrites every message of the window now (after a reconnect), in the order they were added,
   * then writes queued ones as far as the window allows.
   */
  flush(): void {
    for (const entry of [...this.#flying]) {
      clearTimeout(entry.timer);
      this.#transmit(entry);
    }
    this.#pump();
  }

  /** Rejects every pending message, in flight or queued, with `error` (the client closed). */
  failAll(error: ClientError): void {
    for (const entry of [...this.#pending.values()]) {
      this.#settle(entry);
      entry.reject(error);
    }
  }

  /** Moves queued messages into the window while it has room, in call order, and writes them. */
  #pump(): void {
    if (this.#pumping) return; // a write that re-entered (a transport closing synchronously)
    this.#pumping = true;
    try {
      while (this.#queued > 0 && this.#flying.size < this.#maxInFlight) {
        const entry = this.#queue[this.#head++] as Pending;
        if (entry.state !== "queued") continue; // settled while it waited
        this.#queued--;
        entry.state = "flying";
        this.#flying.add(entry);
        this.#transmit(entry);
      }
      if (this.#queued === 0) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }

  #transmit(entry: Pending): void {
    entry.timer = undefined;
    if (entry.attempts >= this.policy.maxAttempts) {
      this.#settle(entry);
      entry.reject(new ClientError("ack-timeout"));
      return;
    }
    if (!this.write(entry.frame)) return; // offline: flush() resumes it after the reconnect
    const delay = backoffDelay(this.policy, entry.attempts, this.#random);
    entry.attempts += 1;
    entry.timer = setTimeout(() => {
      this.#transmit(entry);
      this.#pump(); // the slot is free when that was the last attempt
    }, delay);
  }

  #settle(entry: Pending): void {
    clearTimeout(entry.timer);
    this.#pending.delete(entry.messageId);
    this.#flying.delete(entry);
    if (entry.state === "queued") this.#queued--;
    entry.state = "done";
  }
}
