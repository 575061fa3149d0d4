import type { LoginAckPack } from "../gen/ts/whaleshark/v1/envelope.js";
import { MessageEncoding } from "../lib/wire/index.js";
import type { BackoffPolicy } from "./backoff.js";
import { SYNC_DEFAULTS, type SyncPolicy } from "./message-sync.js";
import { MAX_PENDING_MS_DEFAULT, RATE_LIMITED_MAX_MS, type ResendPolicy } from "./outbox.js";
import type { TransportFactory } from "./transport/transport.js";

/** How the client reconnects after losing its connection. */
export interface ReconnectPolicy extends BackoffPolicy {
  /** Attempts before giving up and closing (Infinity: never give up). */
  maxAttempts: number;
}

/** A userSign, or a function giving a fresh one for every login (tokens expire, spec §6.2). */
export type UserSignSource = string | (() => string | Promise<string>);

/** Options of WhaleSharkClient; only the device identity and the transport are required. */
export interface ClientOptions {
  /** Opens connections: tcpTransport (Node) or wsTransport (Node and browsers). */
  transport: TransportFactory;
  appId: number;
  userId: string;
  /** Device type, a ClientType value (spec §4.1: 1 web, 2 iOS, 3 Android, …). */
  clientType: number;
  /** Device id; with clientType it names this device for multi-login (spec §4.3). */
  imei: string;
  /** Sent in LOGIN beside userId; omit only against a gateway with `auth.login: open`. */
  userSign?: UserSignSource;
  /** Body encoding: MessageEncoding.JSON (default, the original's) or MessageEncoding.PROTOBUF. */
  encoding?: MessageEncoding;
  /** Header `version` (default 1, as the original's demo client). */
  version?: number;
  /**
   * PING interval, ms. Default: a third of the heartbeatIntervalMs the server announces in
   * LOGIN_ACK, or 30 000 (the original's demo client) when it announces none.
   */
  heartbeatMs?: number;
  /** How long to wait for LOGIN_ACK 9001, ms (default 10 000). */
  loginTimeoutMs?: number;
  /** Resend policy of sends until their ACK (defaults: RESEND_DEFAULTS). */
  resend?: Partial<ResendPolicy>;
  /**
   * Sends (1103 / 2104) written and not yet ACKed at most (default 256, the gateway's default bound
   * per connection; an integer ≥ 1 or Infinity, else the constructor throws a RangeError). Later
   * sends wait inside the client, unwritten and without resend timers, and go out in call order
   * as ACKs free the window.
   */
  maxInFlight?: number;
  /** Reconnect policy (defaults: RECONNECT_DEFAULTS); `false` turns reconnecting off. */
  reconnect?: Partial<ReconnectPolicy> | false;
  /** How many delivered messageKeys are remembered to drop redeliveries (default 10 000). */
  dedupeCapacity?: number;
  /** Answer each received P2P message with MSG_RECEIVE_ACK 1107 (default true). */
  autoReceiveAck?: boolean;
  /**
   * Where the catch-up starts on the first login: the last messageKey the application holds, as
   * the `synced` event (or `syncCursor`) gave it before it stopped. Default 0: everything the user
   * may see. See sdk/README.md "Catching up".
   */
  initialSyncCursor?: number;
  /**
   * The catch-up after every login and the filling of sequence gaps (defaults: SYNC_DEFAULTS);
   * `false` turns both off (messages are then delivered as pushed).
   */
  sync?: Partial<SyncPolicy> | false;
  /**
   * Runs after every successful re-login, before `reconnected` is emitted (the catch-up has
   * started by then). Its errors become `error` events.
   */
  onReconnected?: () => void | Promise<void>;
  /** Makes client messageIds (default crypto.randomUUID). */
  newMessageId?: () => string;
  /** Randomness for backoff jitter (default Math.random); tests pass a fixed one. */
  random?: () => number;
}

/**
 * Default resend policy: the first resend after the timeout learnt from the ACK latency (at least
 * 2 s), each further one twice as late, up to 16 s, ±10 %; a send unanswered 60 s after its first
 * write fails with `unknown`.
 */
export const RESEND_DEFAULTS: ResendPolicy = {
  initialMs: 2_000,
  maxMs: 16_000,
  factor: 2,
  jitter: 0.1,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxPendingMs: MAX_PENDING_MS_DEFAULT,
  // 500 / 90000: internal failure; 51001 / 51002: persistence failed; 71000: no service available.
  retryableCodes: [500, 51_001, 51_002, 71_000, 90_000],
  // 60006 (sent too fast) is never final before this: the send waits the ACK's retryAfterMs, then goes again.
  maxRateLimitedMs: RATE_LIMITED_MAX_MS,
};

/** Default send window: as many sends in flight as the gateway reads per connection by default. */
export const MAX_IN_FLIGHT_DEFAULT = 256;

/** Default reconnect policy: 0.5 s doubling up to 30 s, ±20 % jitter, forever. */
export const RECONNECT_DEFAULTS: ReconnectPolicy = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** ClientOptions with every default applied. */
export interface ResolvedOptions
  extends Required<
    Omit<ClientOptions, "userSign" | "heartbeatMs" | "resend" | "reconnect" | "onReconnected" | "sync">
  > {
  userSign: UserSignSource;
  sync: SyncPolicy | undefined;
  heartbeatMs: number | undefined;
  resend: ResendPolicy;
  reconnect: ReconnectPolicy | undefined;
  onReconnected: (() => void | Promise<void>) | undefined;
}

/** Applies the defaults. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const cursor = options.initialSyncCursor;
  if (cursor !== undefined && !(Number.isSafeInteger(cursor) && cursor >= 0)) {
    throw new RangeError(`initialSyncCursor must be a messageKey (an integer ≥ 0): ${cursor}`);
  }
  return {
    ...options,
    userSign: options.userSign ?? "",
    encoding: options.encoding ?? MessageEncoding.JSON,
    version: options.version ?? 1,
    heartbeatMs: options.heartbeatMs,
    loginTimeoutMs: options.loginTimeoutMs ?? 10_000,
    resend: { ...RESEND_DEFAULTS, ...options.resend },
    maxInFlight: options.maxInFlight ?? MAX_IN_FLIGHT_DEFAULT,
    reconnect: options.reconnect === false ? undefined : { ...RECONNECT_DEFAULTS, ...options.reconnect },
    dedupeCapacity: options.dedupeCapacity ?? 10_000,
    autoReceiveAck: options.autoReceiveAck ?? true,
    initialSyncCursor: options.initialSyncCursor ?? 0,
    sync:
      options.sync === false
        ? undefined
        : {
            ...SYNC_DEFAULTS,
            ...options.sync,
            pageSize: Math.min(100, Math.max(1, options.sync?.pageSize ?? SYNC_DEFAULTS.pageSize)),
          },
    onReconnected: options.onReconnected,
    newMessageId: options.newMessageId ?? (() => globalThis.crypto.randomUUID()),
    random: options.random ?? Math.random,
  };
}

/**
 * The PING interval: options.heartbeatMs, else a third of the server's announced timeout (so two
 * pings may be lost before it drops the connection, D3), else 30 s like the original's demo client.
 */
export function heartbeatEvery(options: ResolvedOptions, loginAck: LoginAckPack): number {
  if (options.heartbeatMs !== undefined) return options.heartbeatMs;
  const announced = loginAck.heartbeatIntervalMs;
  return announced > 0 ? Math.max(100, Math.floor(announced / 3)) : 30_000;
}
