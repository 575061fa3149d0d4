import { ErrorCode } from "../gen/ts/whaleshark/v1/error_code.js";
import type { MessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { ClientError } from "./client-error.js";

/**
 * How sends are retried until their ACK arrives (spec §5.5 client retry model). The wait before
 * resend number k (0 for the first) is `min(maxMs, rto · factor^k)` spread by `jitter`, where
 * `rto` is the retransmission timeout learnt from the ACK latency ({@link RttEstimator}), never
 * below `initialMs`.
 */
export interface ResendPolicy extends BackoffPolicy {
  /**
   * Writes per message, the first included (default Infinity); after the last one's wait the
   * send fails with `unknown`.
   */
  maxAttempts: number;
  /**
   * How long a send may stay unanswered, ms from its first write (default
   * {@link MAX_PENDING_MS_DEFAULT}); then it fails with `unknown`: it may have been stored.
   * Sends refused for rate or load (60006) are bounded by `maxRateLimitedMs` instead.
   */
  maxPendingMs?: number;
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
export const SEND_RATE_EXCEEDED: number = ErrorCode.ERROR_CODE_SEND_RATE_EXCEEDED;
/** Default of {@link ResendPolicy.maxRateLimitedMs}. */
export const RATE_LIMITED_MAX_MS = 30_000;
/** Default of {@link ResendPolicy.maxPendingMs}. */
export const MAX_PENDING_MS_DEFAULT = 60_000;
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
  /** When it was first written (performance-style ms of the outbox clock); undefined before. */
  firstWriteAt: number | undefined;
  /** When it was last written. */
  lastWriteAt: number;
  /**
   * Written exactly once and answered by nothing yet: its ACK measures the round trip (Karn's
   * rule: an ACK of a rewritten send may answer any of its writes, so it is not a sample).
   */
  sample: boolean;
  /**
   * A write of it may have reached the domain: it went unanswered (a resend timer fired, the
   * connection dropped) or was answered with a retryable failure. Such a send that fails ends
   * `unknown`, never as if it had been refused.
   */
  maybeStored: boolean;
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
  /** The clock of round trips and deadlines, ms (default Date.now; tests with fake timers). */
  now?: () => number;
}

/**
 * The retransmission timeout of one connection's sends, learnt from the ACK latency like TCP's
 * (RFC 6298): a smoothed round trip SRTT and its variation RTTVAR, RTO = SRTT + 4·RTTVAR. An
 * overloaded server answers later, so the client waits longer before it resends, instead of
 * adding a second copy of every send to the queue it is waiting in.
 */
export class RttEstimator {
  #srtt: number | undefined;
  #rttvar = 0;

  /** Takes one round trip, ms (an ACK of a send written once). */
  sample(ms: number): void {
    const r = Math.max(0, ms);
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
      return;
    }
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
    this.#srtt = 0.875 * this.#srtt + 0.125 * r;
  }

  /** The smoothed round trip, ms; undefined before the first sample. */
  get srtt(): number | undefined {
    return this.#srtt;
  }

  /** SRTT + 4·RTTVAR, at least `floor` (the policy's initialMs) and at most `cap`. */
  rto(floor: number, cap: number): number {
    const rto = this.#srtt === undefined ? floor : this.#srtt + 4 * this.#rttvar;
    return Math.min(cap, Math.max(floor, rto));
  }
}

/**
 * The messages sent and not yet acknowledged, keyed by messageId.
 *
 * Contract: at most `maxInFlight` messages hold a slot of the window (written, or due to be written
 * at the next `flush`, and not yet settled); later ones wait in a FIFO queue, unwritten, and take
 * the slots in call order as ACKs, refusals and timeouts free them, so the writes keep the call
 * order (and with it each conversation's order). A message in the window is written, then
 * rewritten with the same bytes after a backoff delay until its ACK arrives; a retryable refusal
 * keeps its slot. The delay adapts to the ACK latency ({@link RttEstimator}: the first resend waits
 * the learnt timeout, at least `initialMs`; each further one `factor` times longer, up to `maxMs`),
 * so a slow server is not sent a second copy of every send. Attempts are counted only for writes
 * that reached an open connection, and the first delay starts at the first real write; while
 * disconnected the timers stop (`pause`), the queue stays, and `flush` rewrites the window after a
 * reconnect, then goes on with the queue. The server dedupes by messageId (docs/architecture.md §4), so a
 * resend never stores a message twice.
 *
 * Failures. A refusal with a final code means the message was not stored. A send that is still
 * unanswered `maxPendingMs` after its first write (or after `maxAttempts` writes) fails with
 * `unknown`: a write may have reached the server and been stored, so the client does not claim it
 * failed (the application settles it by sync or by resending the same messageId, sdk/README.md).
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
  readonly #now: () => number;
  readonly #maxPendingMs: number;
  /** The ACK latency of this outbox's sends (one per client: its connections share a path). */
  readonly rtt = new RttEstimator();

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
    this.#now = options.now ?? Date.now;
    this.#maxPendingMs = policy.maxPendingMs ?? MAX_PENDING_MS_DEFAULT;
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
   * resolves with its ACK; rejects with a ClientError (refused, unknown, …).
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
        firstWriteAt: undefined,
        lastWriteAt: 0,
        sample: false,
        maybeStored: false,
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
    if (ack.ok && entry.sample && entry.state === "flying") this.rtt.sample(this.#now() - entry.lastWriteAt);
    entry.sample = false;
    if (!ack.ok && ack.code === SEND_RATE_EXCEEDED && this.#defer(entry, ack.data?.retryAfterMs)) return true;
    if (!ack.ok && this.policy.retryableCodes.includes(ack.code)) {
      entry.maybeStored = true; // e.g. 71000 past the deadline: the domain may have run it
      return true;
    }
    this.#settle(entry);
    if (ack.ok) entry.resolve(ack);
    else if (ack.code === SEND_RATE_EXCEEDED && entry.maybeStored) entry.reject(new ClientError("unknown"));
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

  /**
   * Stops every resend timer (the connection is gone; attempts are not spent while offline). A
   * written send keeps its deadline: it fails with `unknown` at `maxPendingMs` after its first
   * write even if no connection comes back by then.
   */
  pause(): void {
    for (const entry of this.#flying) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.sample = false;
      if (entry.firstWriteAt === undefined) continue;
      entry.maybeStored = true; // its last write may have got through before the connection died
      const left = entry.firstWriteAt + this.#maxPendingMs - this.#now();
      entry.timer = setTimeout(
        () => {
          entry.timer = undefined;
          this.#giveUp(entry);
          this.#pump();
        },
        Math.max(0, left),
      );
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

  /** The send is past its bounds: it fails with `unknown` (it may have been stored). */
  #giveUp(entry: Pending): void {
    if (entry.state === "done") return;
    this.#settle(entry);
    entry.reject(new ClientError("unknown"));
  }

  #transmit(entry: Pending): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const now = this.#now();
    const deadline = entry.firstWriteAt === undefined ? Infinity : entry.firstWriteAt + this.#maxPendingMs;
    if (entry.attempts >= this.policy.maxAttempts || now >= deadline) {
      this.#giveUp(entry);
      return;
    }
    if (!this.write(entry.frame)) return; // offline: flush() resumes it after the reconnect
    entry.firstWriteAt ??= now;
    if (entry.attempts > 0) entry.maybeStored = true; // the earlier write went unanswered
    entry.sample = entry.attempts === 0;
    entry.lastWriteAt = now;
    // The learnt timeout, grown per resend, never past maxMs nor past the deadline.
    const policy = { ...this.policy, initialMs: this.rto() };
    const delay = Math.min(
      backoffDelay(policy, entry.attempts, this.#random),
      Math.max(0, entry.firstWriteAt + this.#maxPendingMs - now),
    );
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
    const now = this.#now();
    entry.limitedSince ??= now;
    if (now - entry.limitedSince > (this.policy.maxRateLimitedMs ?? RATE_LIMITED_MAX_MS)) return false;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.deferred = true;
    entry.attempts = 0; // the refusal answered the write: the resend waits for its ACK afresh
    // Nor does its pending time run while it is refused: it starts again at the resend.
    if (!entry.maybeStored) entry.firstWriteAt = undefined;
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

  /** The current retransmission timeout: learnt from the ACK latency, within [initialMs, maxMs]. */
  rto(): number {
    return this.rtt.rto(this.policy.initialMs, this.policy.maxMs);
  }

  #settle(entry: Pending): void {
    clearTimeout(entry.timer);
    this.#pending.delete(entry.messageId);
    this.#flying.delete(entry);
    if (entry.state === "queued") this.#queued--;
    entry.state = "done";
  }
}
