/**
 * What the gate needs to know of a gRPC call: whether its caller still waits for the answer.
 * grpc-js's ServerUnaryCall has this shape (`cancelled` turns true when the client cancels or
 * goes away; `getDeadline()` is the client's deadline, Infinity without one).
 */
export interface GatedCall {
  readonly cancelled: boolean;
  getDeadline(): Date | number;
  once?(event: "cancelled", listener: () => void): unknown;
}

/** How many calls run at once and how many may wait (see {@link CallGate}). */
export interface CallGateLimits {
  /** Calls doing work at the same time (each holds at most a couple of pooled connections). */
  running: number;
  /** Live calls waiting for a turn; one more is refused at once ("store busy"). */
  waiting: number;
}

/** Why a call was not started. */
export type Refusal = "gone" | "busy";

interface Waiter {
  call: GatedCall;
  start: (release: () => void) => void;
  refuse: (why: Refusal) => void;
  settled: boolean;
}

/** True when nobody waits for this call's answer any more: cancelled, or past its deadline. */
export function callIsGone(call: GatedCall, now = Date.now()): boolean {
  if (call.cancelled) return true;
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return at <= now;
}

/**
 * Admission control for the store's HistoryService (bench/RESULTS.md finding 3): at most
 * `running` calls work at once, the others wait in arrival order, and a call is started only if
 * its caller still waits for it. A gateway gives a sync `gateway.forwardTimeoutMs`; under a login
 * storm, calls used to queue inside the pg pool past that deadline and then run their queries
 * anyway, so the store did the work of every refused catch-up and fell further behind. Here a
 * call that was cancelled or whose deadline passed while it waited is dropped without a query,
 * and when `waiting` live calls are queued already the next one is refused at once, so an
 * overloaded store answers "busy" fast instead of slowly.
 */
export class CallGate {
  readonly #queue: Waiter[] = [];
  #running = 0;
  /** Queued waiters not yet settled (the queue may still hold settled ones until they reach its head). */
  #waiting = 0;

  constructor(private readonly limits: CallGateLimits) {
    if (!(limits.running >= 1) || !(limits.waiting >= 0)) {
      throw new RangeError(`a call gate needs running ≥ 1 and waiting ≥ 0, got ${JSON.stringify(limits)}`);
    }
  }

  /** Calls working now. */
  get running(): number {
    return this.#running;
  }

  /** Live calls waiting for a turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Starts `start` now or when a turn frees, unless the call is gone by then (`refuse("gone")`)
   * or too many wait already (`refuse("busy")`). `start` gets `release`, to be called exactly
   * once when the call's work is over.
   */
  admit(call: GatedCall, start: (release: () => void) => void, refuse: (why: Refusal) => void): void {
    if (callIsGone(call)) {
      refuse("gone");
      return;
    }
    if (this.#running < this.limits.running && this.#waiting === 0) {
      this.#start(start);
      return;
    }
    if (this.#waiting >= this.limits.waiting) this.#dropGone();
    if (this.#waiting >= this.limits.waiting) {
      refuse("busy");
      return;
    }
    const waiter: Waiter = { call, start, refuse, settled: false };
    this.#queue.push(waiter);
    this.#waiting++;
    // A caller that gives up while waiting frees its place at once (its slot in the array is
    // skipped when it reaches the head).
    call.once?.("cancelled", () => this.#settle(waiter, "gone"));
  }

  #start(start: (release: () => void) => void): void {
    this.#running++;
    let released = false;
    start(() => {
      if (released) return;
      released = true;
      this.#running--;
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.limits.running) {
      const waiter = this.#queue.shift();
      if (waiter === undefined) return;
      if (waiter.settled) continue;
      if (callIsGone(waiter.call)) {
        this.#settle(waiter, "gone");
        continue;
      }
      waiter.settled = true;
      this.#waiting--;
      this.#start(waiter.start);
    }
  }

  /** Refuses every queued call whose caller is gone (only when the queue is full: O(queue)). */
  #dropGone(): void {
    const now = Date.now();
    for (const waiter of this.#queue) {
      if (!waiter.settled && callIsGone(waiter.call, now)) this.#settle(waiter, "gone");
    }
    const live = this.#queue.filter((w) => !w.settled);
    this.#queue.length = 0;
    for (const waiter of live) this.#queue.push(waiter);
  }

  #settle(waiter: Waiter, why: Refusal): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.#waiting--;
    waiter.refuse(why);
  }
}
