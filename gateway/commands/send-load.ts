/**
 * How long the gateway's sends (1103 / 2104) wait for the domain, and whether new ones should be
 * shed (issue 15 item 1): an overloaded domain answers late, and a send that waits past the point
 * where its client resends (the SDK's resend timeout is at least 2 s) is work done twice, so the
 * queue never drains. Shedding a new send early with a retryable refusal (60006 and
 * `retryAfterMs`, send-rate.ts) costs one small ACK and nothing at the domain; the client waits
 * the hint (half the wait observed, {@link SHED_RETRY_MIN_MS}–{@link SHED_RETRY_MAX_MS}, ±25 %)
 * and resends, by when the backlog has drained.
 *
 * The signal is the sojourn time (as CoDel's): the shortest time any send answered within the
 * last {@link SOJOURN_WINDOW_MS} waited. One slow call (a stuck conversation, a cold cache) does
 * not make it high; only when every send waits does it rise. Failed calls are no sample (a domain
 * that is down fails sends fast; nothing to shed). When nothing came back at all in the window
 * (the domain hangs), the age of the oldest send still waiting stands in. Besides:
 * - the gateway sheds when more than `maxDepth` sends wait for the domain at once;
 * - a connection's new sends are shed when its own oldest waiting send is older than twice the
 *   threshold (its client resends it by then anyway; what it writes meanwhile only piles up).
 */

import type { Config } from "../../lib/config/index.js";

/** The window over which the shortest wait is taken, ms. */
export const SOJOURN_WINDOW_MS = 500;
/** Bounds of the wait handed out with a shed send, ms. */
export const SHED_RETRY_MIN_MS = 200;
export const SHED_RETRY_MAX_MS = 5_000;

/** What one send in the queue is: returned by {@link SendLoad.begin}, handed back to end. */
export interface LoadToken {
  readonly conn: object;
  readonly at: number;
}

export interface SendLoadLimits {
  /** Shed when sends wait this long for the domain (ms); 0 = never shed. */
  maxWaitMs: number;
  /** Shed when this many sends wait for the domain at once; 0 = no bound. */
  maxDepth: number;
}

export class SendLoad {
  /** Every send waiting for the domain, oldest first (a Set keeps insertion order). */
  readonly #waiting = new Set<LoadToken>();
  readonly #byConn = new WeakMap<object, Set<LoadToken>>();
  /** The shortest wait of the sends answered in the current and in the last window. */
  #windowStart: number;
  #minNow = Number.POSITIVE_INFINITY;
  #minLast = Number.POSITIVE_INFINITY;
  /** Whether any send ended (answered or failed) in the current and in the last window. */
  #endedNow = false;
  #endedLast = false;

  constructor(
    private readonly limits: SendLoadLimits,
    private readonly clock: () => number = () => performance.now(),
    /** Spreads the waits handed out (0..1), so clients shed together do not return together. */
    private readonly random: () => number = Math.random,
  ) {
    this.#windowStart = clock();
  }

  get enabled(): boolean {
    return this.limits.maxWaitMs > 0 || this.limits.maxDepth > 0;
  }

  /** Sends waiting for the domain now. */
  get depth(): number {
    return this.#waiting.size;
  }

  /** A send of `conn` goes to the domain. */
  begin(conn: object): LoadToken {
    const token = { conn, at: this.clock() };
    this.#waiting.add(token);
    let mine = this.#byConn.get(conn);
    if (mine === undefined) {
      mine = new Set();
      this.#byConn.set(conn, mine);
    }
    mine.add(token);
    return token;
  }

  /**
   * Its answer came back (`answered`: the domain answered it, accepted or refused), or the call
   * failed (domain down, deadline). A failure is no sojourn sample: a domain that is down fails
   * sends fast (71000, the client resends later), and the sends held behind a failed batch's
   * retries (send-batcher.ts) would otherwise read as a queue and shed the first sends after it
   * came back.
   */
  end(token: LoadToken, answered = true): void {
    if (!this.#waiting.delete(token)) return;
    this.#byConn.get(token.conn)?.delete(token);
    const now = this.clock();
    this.#roll(now);
    this.#endedNow = true;
    if (answered) this.#minNow = Math.min(this.#minNow, now - token.at);
  }

  /**
   * The sojourn time: the shortest wait of a send answered within the last window; when none was
   * but sends failed, 0 (the domain fails them fast: nothing queues); when nothing came back at
   * all, how long the oldest send still waiting has waited (0 when none waits).
   */
  sojourn(now = this.clock()): number {
    this.#roll(now);
    const answered = Math.min(this.#minNow, this.#minLast);
    if (answered !== Number.POSITIVE_INFINITY) return answered;
    if (this.#endedNow || this.#endedLast) return 0;
    const oldest = this.#waiting.values().next().value;
    return oldest === undefined ? 0 : now - oldest.at;
  }

  /**
   * Whether a new send of `conn` should be shed: undefined when it may go to the domain, else the
   * ms its client should wait before resending.
   */
  shed(conn: object): number | undefined {
    if (!this.enabled) return undefined;
    const now = this.clock();
    const { maxWaitMs, maxDepth } = this.limits;
    const sojourn = this.sojourn(now);
    let wait: number | undefined;
    if (maxWaitMs > 0 && sojourn >= maxWaitMs) wait = sojourn;
    else if (maxDepth > 0 && this.#waiting.size >= maxDepth) wait = Math.max(sojourn, SHED_RETRY_MIN_MS);
    else if (maxWaitMs > 0) {
      const oldest = this.#byConn.get(conn)?.values().next().value;
      if (oldest !== undefined && now - oldest.at >= 2 * maxWaitMs) wait = now - oldest.at;
    }
    if (wait === undefined) return undefined;
    // Half the wait observed: the queue drains meanwhile when the shed clients stop adding to it,
    // and a client that comes back too early is only shed again (one small ACK), while one that
    // waits too long holds its sends past the recovery. Spread ±25 %.
    const spread = (wait / 2) * (0.75 + 0.5 * this.random());
    return Math.round(Math.min(SHED_RETRY_MAX_MS, Math.max(SHED_RETRY_MIN_MS, spread)));
  }

  #roll(now: number): void {
    if (now - this.#windowStart < SOJOURN_WINDOW_MS) return;
    // One window on: the current becomes the last; two or more: nothing was answered in either.
    const oneOn = now - this.#windowStart < 2 * SOJOURN_WINDOW_MS;
    this.#minLast = oneOn ? this.#minNow : Number.POSITIVE_INFINITY;
    this.#endedLast = oneOn && this.#endedNow;
    this.#minNow = Number.POSITIVE_INFINITY;
    this.#endedNow = false;
    this.#windowStart = now - ((now - this.#windowStart) % SOJOURN_WINDOW_MS);
  }
}

/** The limits configured in `gateway.shedSendsAfterMs` / `gateway.shedSendsAtDepth` (absent: off). */
export function sendLoadLimits(config: Config): SendLoadLimits {
  const g = config.gateway;
  return { maxWaitMs: g.shedSendsAfterMs ?? 0, maxDepth: g.shedSendsAtDepth ?? 0 };
}
