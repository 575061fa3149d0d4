import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import type { Config } from "../../lib/config/index.js";
import { ErrorCatalogue } from "../../lib/errors/index.js";
import type { SessionRecord } from "../../lib/sessions/session-record.js";
import type { Connection } from "../session/connection.js";
import type { GatewayContext } from "./context.js";

/** The shortest wait a refusal asks for, ms: shorter would only trade refusals for frames. */
export const MIN_RETRY_AFTER_MS = 50;
/** The shortest wait of a send refused to keep the order (it comes back with the others). */
export const ORDER_RETRY_AFTER_MS = 200;
/**
 * How long after the refused sends were due back (the longest wait handed out) the connection
 * still keeps its new sends behind them, ms. A client that did not come back by then (it gave
 * up, or never resends, like the original's) is not held any longer: the refusals are forgotten.
 */
export const REFUSED_GRACE_MS = 5_000;
/** Refused sends remembered per connection for their order (more than the SDK ever has in flight). */
export const MAX_REMEMBERED_REFUSALS = 1_024;
/**
 * How long an accepted send is remembered, ms: a client's rewrite of it (no ACK yet: the SDK
 * rewrites after 2 s) joins it at the gateway or the domain's dedupe, and must neither take a
 * token nor be refused and queued as if it were new.
 */
export const ACCEPTED_MEMORY_MS = 10_000;
/** Rewrites of one accepted send let through; past them a rewrite counts as a new send. */
const MAX_REWRITES = 3;
/**
 * Sends refused since the connection's last accepted one after which it is closed
 * (`send-flood`): a client that honours retryAfterMs has at most its window refused per wait
 * (the SDK's 256), while one that ignores it writes refusal after refusal, each costing the
 * gateway a frame read and an ACK written that every other connection waits behind.
 */
export const MAX_REFUSALS_UNTIL_CLOSE = 2_048;
/** How often idle per-user buckets (full again: they hold nothing a new one would not) are dropped. */
const SWEEP_EVERY_MS = 10_000;

/** `rate` tokens a second, at most `burst` held; starts full. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Tokens held at `now` (fractions included). */
  tokens(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.rate) / 1000);
      this.#at = now;
    }
    return this.#tokens;
  }

  /** Spends one token (the caller saw `tokens(now) >= 1`). */
  take(): void {
    this.#tokens -= 1;
  }

  /** Ms from `now` until `n` tokens (at most `burst`) are held; 0 when they are. */
  msUntil(n: number, now: number): number {
    const missing = Math.min(n, this.burst) - this.tokens(now);
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.rate);
  }
}

/** A rate and its burst; rate 0 = no limit. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** The limits of {@link SendRateLimiter}. */
export interface SendRateLimits {
  perConnection: RateLimit;
  /** For all of one user's connections on this gateway together. */
  perUser: RateLimit;
}

interface ConnectionRate {
  bucket: TokenBucket | undefined;
  /** Refused sends by messageId, in the order they were refused (= the client's order). */
  refused: Set<string>;
  /** When the refused sends are due back: the longest wait handed out for lack of tokens. */
  dueAt: number;
  /** Sends accepted in the last {@link ACCEPTED_MEMORY_MS}, oldest first: when, and rewrites let through. */
  accepted: Map<string, { at: number; rewrites: number }>;
  /** Sends refused since the last accepted one (see {@link MAX_REFUSALS_UNTIL_CLOSE}). */
  refusedInARow: number;
}

/**
 * The send rate limits of one gateway (docs/architecture.md §6: message rates per connection are bounded;
 * issue 13 item 3): a token bucket per connection and one per user over that user's
 * connections here. A send that finds either empty is refused at once, without any call to the
 * domain, with the ms after which the buckets hold enough for it and the connection's other
 * refused sends: the client waits that long and resends them (same messageIds).
 *
 * Order. A connection's sends are accepted in the order they arrive, refusals included: after
 * a refusal, a send behind it (one the connection had not been refused yet, or a refused one that
 * is not the first still waiting) is refused too, with the wait of the first, so that it never
 * overtakes it; the first passes when tokens are there, then the next. The SDK resends its refused
 * sends in call order after the longest wait it was given (sdk/outbox.ts), so they pass in that
 * order and each conversation keeps the order of its calls. When the refused sends are not back
 * {@link REFUSED_GRACE_MS} after they were due, the connection is not held for them any longer.
 * A rewrite of a send accepted in the last {@link ACCEPTED_MEMORY_MS} (its ACK is late) is let
 * through as it is: it joins the accepted one (send-batcher.ts, the domain's dedupe).
 *
 * Refusing costs one small ACK; a client that ignores the hint only collects refusals.
 */
export class SendRateLimiter {
  readonly #connections = new WeakMap<object, ConnectionRate>();
  readonly #users = new Map<string, TokenBucket>();
  #sweptAt: number;

  constructor(
    private readonly limits: SendRateLimits,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.#sweptAt = clock();
  }

  /** Whether any limit applies (both rates 0: every send passes untouched). */
  get enabled(): boolean {
    return this.limits.perConnection.rate > 0 || this.limits.perUser.rate > 0;
  }

  /**
   * Takes a token of `connection` and of `user` for the send `messageId`; undefined when it may
   * go on, else the ms the client should wait before resending it. `shedMs`, when given, is the
   * wait the gateway hands out because it is overloaded (send-load.ts): the send is refused for
   * that instead of taking tokens, in its place like a refusal for rate, so that the
   * connection's later sends do not overtake it.
   */
  check(connection: object, user: string, messageId: string, shedMs?: number): number | undefined {
    // Without limits, only load shedding and the order behind its refusals apply.
    if (!this.enabled && shedMs === undefined && (this.#connections.get(connection)?.refused.size ?? 0) === 0)
      return undefined;
    const now = this.clock();
    const conn = this.#connection(connection, now);
    for (const [id, a] of conn.accepted) {
      if (a.at > now - ACCEPTED_MEMORY_MS) break;
      conn.accepted.delete(id);
    }
    const known = conn.accepted.get(messageId);
    if (known !== undefined && known.rewrites < MAX_REWRITES) {
      known.rewrites += 1;
      return undefined;
    }
    if (conn.refused.size > 0 && now > conn.dueAt + REFUSED_GRACE_MS) conn.refused.clear();
    const first = conn.refused.values().next().value;
    if (first !== undefined && first !== messageId) {
      this.#remember(conn, messageId);
      conn.refusedInARow += 1;
      return Math.max(ORDER_RETRY_AFTER_MS, Math.ceil(conn.dueAt - now));
    }
    if (shedMs !== undefined) {
      // The first in line, or nothing refused: refused for load, keeping its place.
      const wait = Math.max(MIN_RETRY_AFTER_MS, shedMs);
      conn.dueAt = Math.max(conn.dueAt, now + wait);
      this.#remember(conn, messageId);
      conn.refusedInARow += 1;
      return wait;
    }
    const userBucket = this.#user(user, now);
    const c = conn.bucket;
    if (
      (c === undefined || c.tokens(now) >= 1) &&
      (userBucket === undefined || userBucket.tokens(now) >= 1)
    ) {
      c?.take();
      userBucket?.take();
      if (first !== undefined) conn.refused.delete(first);
      if (messageId !== "") conn.accepted.set(messageId, { at: now, rewrites: 0 });
      conn.refusedInARow = 0;
      return undefined;
    }
    // Enough for every refused send of the connection, this one included, so that all of them
    // pass when the client resends them after the wait.
    const waiting = conn.refused.size + (conn.refused.has(messageId) ? 0 : 1);
    const wait = Math.max(
      MIN_RETRY_AFTER_MS,
      c?.msUntil(waiting, now) ?? 0,
      userBucket?.msUntil(waiting, now) ?? 0,
    );
    conn.dueAt = Math.max(conn.dueAt, now + wait);
    this.#remember(conn, messageId);
    conn.refusedInARow += 1;
    return wait;
  }

  /** Whether `connection` has had more than {@link MAX_REFUSALS_UNTIL_CLOSE} sends refused in a row. */
  flooding(connection: object): boolean {
    return (this.#connections.get(connection)?.refusedInARow ?? 0) > MAX_REFUSALS_UNTIL_CLOSE;
  }

  /** Remembers a refused send in its place (a known one keeps its place). */
  #remember(conn: ConnectionRate, messageId: string): void {
    if (messageId !== "" && conn.refused.size < MAX_REMEMBERED_REFUSALS) conn.refused.add(messageId);
  }

  /** Refused sends `connection` waits for (tests). */
  waiting(connection: object): number {
    return this.#connections.get(connection)?.refused.size ?? 0;
  }

  /** Per-user buckets held (tests). */
  get users(): number {
    return this.#users.size;
  }

  #connection(connection: object, now: number): ConnectionRate {
    let state = this.#connections.get(connection);
    if (state === undefined) {
      const { rate, burst } = this.limits.perConnection;
      state = {
        bucket: rate > 0 ? new TokenBucket(rate, burst, now) : undefined,
        refused: new Set(),
        dueAt: now,
        accepted: new Map(),
        refusedInARow: 0,
      };
      this.#connections.set(connection, state);
    }
    return state;
  }

  #user(user: string, now: number): TokenBucket | undefined {
    const { rate, burst } = this.limits.perUser;
    if (rate <= 0) return undefined;
    if (now - this.#sweptAt >= SWEEP_EVERY_MS) {
      this.#sweptAt = now;
      for (const [key, bucket] of this.#users)
        if (bucket.tokens(now) >= bucket.burst) this.#users.delete(key);
    }
    let bucket = this.#users.get(user);
    if (bucket === undefined) {
      bucket = new TokenBucket(rate, burst, now);
      this.#users.set(user, bucket);
    }
    return bucket;
  }
}

/** The limits configured in `gateway.sendRate*` / `gateway.sendBurst*` (absent keys: no limit). */
export function sendRateLimits(config: Config): SendRateLimits {
  const g = config.gateway;
  return {
    perConnection: { rate: g.sendRatePerConnection ?? 0, burst: g.sendBurstPerConnection ?? 1 },
    perUser: { rate: g.sendRatePerUser ?? 0, burst: g.sendBurstPerUser ?? 1 },
  };
}

/**
 * Checks a send frame (1103 / 2104) against the rates and the gateway's load (send-load.ts:
 * sends wait too long for the domain) before anything else is done with it.
 * Over the rate, or shed: answers its ACK (1046 / 2047) with 60006 SEND_RATE_EXCEEDED and
 * `data: {messageId, retryAfterMs}`, counts it, and returns true (the caller stops there). A
 * connection that keeps sending regardless ({@link MAX_REFUSALS_UNTIL_CLOSE}) is closed instead
 * (`send-flood`): its user reconnects, logs in and starts with a fresh bucket — far slower than
 * frames, and the per-address connection cap bounds how many it holds.
 */
export function refusedForRate(
  ctx: GatewayContext,
  conn: Connection,
  command: number,
  messageId: string | undefined,
): boolean {
  const limiter = ctx.sendRate;
  const shedMs = ctx.sendLoad.shed(conn);
  const s = conn.session as SessionRecord;
  const id = messageId ?? "";
  const retryAfterMs = limiter.check(conn, `${s.appId}\u0000${s.userId}`, id, shedMs);
  if (retryAfterMs === undefined) return false;
  ctx.metrics.error(shedMs === undefined ? "send-rate-exceeded" : "send-shed");
  if (limiter.flooding(conn)) {
    conn.close("send-flood");
    return true;
  }
  writeRefusal(conn, command, id, retryAfterMs, shedMs === undefined ? "" : " (server busy)");
  return true;
}

/**
 * Answers a send's ACK (1046 / 2047) with 60006 and `data: {messageId, retryAfterMs}`; `why` is
 * added to the text (e.g. " (server busy)").
 */
export function writeRefusal(
  conn: Connection,
  command: number,
  id: string,
  retryAfterMs: number,
  why: string,
): void {
  const msg = `${RATE_TEXT}${why}: retry after ${retryAfterMs} ms`;
  const ack = { code: RATE_CODE, data: { messageId: id, retryAfterMs }, msg, ok: false };
  const ackCommand =
    command === Command.COMMAND_MSG_P2P ? Command.COMMAND_MSG_ACK : Command.COMMAND_GROUP_MSG_ACK;
  // MessageAck.toJSON's text, written out: a flood gets one of these per frame.
  const json = `{"code":${RATE_CODE},"data":{"messageId":${JSON.stringify(id)},"retryAfterMs":${retryAfterMs}},"msg":${JSON.stringify(msg)},"ok":false}`;
  conn.sendData(ackCommand, ack, json);
}

const { code: RATE_CODE, message: RATE_TEXT } = ErrorCatalogue.SEND_RATE_EXCEEDED;
