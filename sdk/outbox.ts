import type { MessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { ErrorCatalogue } from "../lib/errors/catalogue.js";
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
  /**
   * How long a send may keep being refused for rate (60006 SEND_RATE_EXCEEDED), ms from its first
   * such refusal, before it fails with that refusal (default {@link RATE_LIMITED_MAX_MS}).
   */
  maxRateLimitedMs?: number;
}

/** The ACK code of a send refused for rate: wait `data.retryAfterMs`, then resend (gateway/commands/send-rate.ts). */
export const SEND_RATE_EXCEEDED = ErrorCatalogue.SEND_RATE_EXCEEDED.code;
/** Default of {@link ResendPolicy.maxRateLimitedMs}. */
export const RATE_LIMITED_MAX_MS = 30_000;
/** The wait after a rate refusal without a hint, and the longest hint obeyed, ms. */
const RATE_WAIT_DEFAULT_MS = 1_000;
const RATE_WAIT_MAX_MS = 60_000;

interface Pending {
  readonly messageId: string;
  readonly ackCommand: number;
  /** The encoded frame, reused byte for byte by every resend (same messageId, same messageTime). */
  readonly frame: Uint8Array;
  /** queued: waits for a slot, never written; flying: holds a slot of the window; done: settled. */
  state: "queued" | "flying" | "done";
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Refused for rate (or due for a resend while the outbox held): written again when the hold ends. */
  deferred: boolean;
  /** When it was first refused for rate (epoch ms). */
  limitedSince: number | undefined;
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
 *
 * A send refused for rate (60006) keeps its slot, and the outbox holds: nothing is written until
 * the hinted `retryAfterMs` has passed (the longest hint of the refusals that came meanwhile);
 * then the refused sends are written again in call order (the gateway lets a connection's
 * refused sends pass only in the order they were refused, so none overtakes another), and the
 * queue goes on. The refusal answered the write, so the resend's ACK wait starts afresh. Only a
 * send still refused {@link ResendPolicy.maxRateLimitedMs} after its first refusal fails.
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
  /** Set while the outbox holds after a rate refusal; fires at the end of the hold. */
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #holdUntil = 0;
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
        deferred: false,
        limitedSince: undefined,
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
   * final code, leaves it pending (in its slot) when the code is retryable, and holds the outbox
   * when it was refused for rate (see the class). False when nothing matched (a late or foreign
   * ACK).
   */
  ack(ackCommand: number, ack: MessageAck): boolean {
    const entry = this.#pending.get(ack.data?.messageId ?? "");
    if (entry === undefined || entry.ackCommand !== ackCommand) return false;
    if (!ack.ok && ack.code === SEND_RATE_EXCEEDED && this.#defer(entry, ack.data?.retryAfterMs)) return true;
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

  /** Whether the outbox holds its writes after a rate refusal. */
  get holding(): boolean {
    return this.#holdTimer !== undefined;
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
    this.#endHold(); // a new connection: its rates start afresh
    for (const entry of [...this.#flying]) {
      clearTimeout(entry.timer);
      entry.deferred = false;
      this.#transmit(entry);
    }
    this.#pump();
  }

  /** Rejects every pending message, in flight or queued, with `error` (the client closed). */
  failAll(error: ClientError): void {
    this.#endHold();
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
      while (this.#queued > 0 && this.#flying.size < this.#maxInFlight && this.#holdTimer === undefined) {
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
      if (this.#holdTimer !== undefined) {
        // Held: written with the refused ones when the hold ends, in its place.
        entry.timer = undefined;
        entry.deferred = true;
        return;
      }
      this.#transmit(entry);
      this.#pump(); // the slot is free when that was the last attempt
    }, delay);
  }

  /**
   * A rate refusal of `entry`: it keeps its slot and waits for the end of the hold, which lasts
   * at least `retryAfterMs` from now. False when it has been refused for longer than
   * maxRateLimitedMs (the caller then fails it like any final refusal).
   */
  #defer(entry: Pending, retryAfterMs: number | undefined): boolean {
    if (entry.state !== "flying") return true; // never written: a foreign ACK, nothing to do
    const now = Date.now();
    entry.limitedSince ??= now;
    if (now - entry.limitedSince > (this.policy.maxRateLimitedMs ?? RATE_LIMITED_MAX_MS)) return false;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.deferred = true;
    entry.attempts = 0; // the refusal answered the write: the resend waits for its ACK afresh
    const wait = Math.min(RATE_WAIT_MAX_MS, Math.max(0, retryAfterMs ?? RATE_WAIT_DEFAULT_MS));
    if (now + wait > this.#holdUntil) {
      this.#holdUntil = now + wait;
      clearTimeout(this.#holdTimer);
      this.#holdTimer = setTimeout(() => this.#release(), wait);
    }
    return true;
  }

  /** The hold is over: the deferred sends are written again in window (= call) order, then the queue. */
  #release(): void {
    this.#endHold();
    for (const entry of [...this.#flying]) {
      if (!entry.deferred || entry.state !== "flying") continue;
      entry.deferred = false;
      this.#transmit(entry);
    }
    this.#pump();
  }

  #endHold(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#holdUntil = 0;
  }

  #settle(entry: Pending): void {
    clearTimeout(entry.timer);
    this.#pending.delete(entry.messageId);
    this.#flying.delete(entry);
    if (entry.state === "queued") this.#queued--;
    entry.state = "done";
  }
}
