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
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(ack: MessageAck): void;
  reject(error: ClientError): void;
}

/**
 * The messages sent and not yet acknowledged, keyed by messageId.
 *
 * Contract: each message is written, then rewritten with the same bytes after a backoff delay
 * until its ACK arrives or `maxAttempts` writes went unanswered. Attempts are counted only for
 * writes that reached an open connection; while disconnected the timers stop (`pause`) and
 * `flush` rewrites everything at once after a reconnect. The server dedupes by messageId
 * (DESIGN §4), so a resend never stores a message twice.
 */
export class Outbox {
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly policy: ResendPolicy,
    /** Writes a frame; false when there is no open connection. */
    private readonly write: (frame: Uint8Array) => boolean,
    private readonly random: () => number = Math.random,
  ) {}

  /** Messages still waiting for their ACK. */
  get size(): number {
    return this.#pending.size;
  }

  /** True when `messageId` is waiting for its ACK. */
  has(messageId: string): boolean {
    return this.#pending.has(messageId);
  }

  /** Sends `frame` and resolves with its ACK; rejects with a ClientError (refused, ack-timeout, …). */
  add(messageId: string, ackCommand: number, frame: Uint8Array): Promise<MessageAck> {
    if (this.#pending.has(messageId)) {
      return Promise.reject(new Error(`messageId ${messageId} is already pending`));
    }
    return new Promise((resolve, reject) => {
      const entry: Pending = { messageId, ackCommand, frame, attempts: 0, timer: undefined, resolve, reject };
      this.#pending.set(messageId, entry);
      this.#transmit(entry);
    });
  }

  /**
   * Matches an ACK (1046/2047) to its message: resolves it when ok, rejects it when refused with a
   * final code, leaves it pending when the code is retryable. False when nothing matched (a late or
   * foreign ACK).
   */
  ack(ackCommand: number, ack: MessageAck): boolean {
    const entry = this.#pending.get(ack.data?.messageId ?? "");
    if (entry === undefined || entry.ackCommand !== ackCommand) return false;
    if (!ack.ok && this.policy.retryableCodes.includes(ack.code)) return true;
    this.#settle(entry);
    if (ack.ok) entry.resolve(ack);
    else entry.reject(new ClientError("refused", { code: ack.code, msg: ack.msg }));
    return true;
  }

  /** Fails `messageId` for good (an error frame named it); false when it was not pending. */
  refuse(messageId: string, error: ClientError): boolean {
    const entry = this.#pending.get(messageId);
    if (entry === undefined) return false;
    this.#settle(entry);
    entry.reject(error);
    return true;
  }

  /** Stops every resend timer (the connection is gone; attempts are not spent while offline). */
  pause(): void {
    for (const entry of this.#pending.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /** Rewrites every pending message now (after a reconnect), in the order they were added. */
  flush(): void {
    for (const entry of [...this.#pending.values()]) {
      clearTimeout(entry.timer);
      this.#transmit(entry);
    }
  }

  /** Rejects every pending message with `error` (the client closed). */
  failAll(error: ClientError): void {
    for (const entry of [...this.#pending.values()]) {
      this.#settle(entry);
      entry.reject(error);
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
    const delay = backoffDelay(this.policy, entry.attempts, this.random);
    entry.attempts += 1;
    entry.timer = setTimeout(() => this.#transmit(entry), delay);
  }

  #settle(entry: Pending): void {
    clearTimeout(entry.timer);
    this.#pending.delete(entry.messageId);
  }
}
