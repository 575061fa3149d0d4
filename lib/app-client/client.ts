import { type ChannelOptions, Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { generateUserSign } from "../auth/user-sign.js";
import { AUTH_METADATA } from "../grpc/auth-metadata.js";
import { AppClientOptionError } from "./option-error.js";
import {
  type CallOptions,
  type RetryPolicy,
  SERVICES,
  type ServiceCaller,
  type ServiceCallers,
  type ServiceName,
  type UnaryMethod,
} from "./services.js";

/**
 * Who the calls act as (common.proto §2: metadata `appid`, `identifier`, `usersign`). An app server
 * holds the app's key and signs for itself (`privateKey`: a token is made, reused for five minutes
 * and renewed, so a long-lived client never sends an expired one); a caller that only has a token
 * passes `userSign` (a function is called for every call, so it can renew it).
 * `userId` is an app admin (config `apps.<id>.adminIds`) for the admin-only calls, or any user.
 */
export type AppIdentity =
  | { userId: string; privateKey: string }
  | { userId: string; userSign: string | (() => string) };

/**
 * Serves some methods in this process (lib/grpc/in-process.ts: `whaleshark start` reaches its own
 * domain without a socket); undefined for a path it does not serve, which then goes over gRPC.
 */
export interface LocalUnaryTransport {
  call(path: string, request: Buffer, metadata: Metadata, deadline: number): Promise<Buffer> | undefined;
}

export interface AppClientOptions {
  /**
   * The domain: `host:port`, or a discovery target such as `zk:///whaleshark.domain` or
   * `consul:///whaleshark.domain` once its resolver is registered (lib/grpc/resolvers
   * `registerDiscoveryResolver`), which spreads calls over every live domain.
   */
  target: string;
  appId: number;
  identity: AppIdentity;
  /** Deadline of a call, all its attempts included (default 10 000 ms). */
  timeoutMs?: number;
  /** Default retry policy ({@link RETRY_DEFAULTS}); false: every call is tried once. */
  retry?: Partial<RetryPolicy> | false;
  /** grpc-js channel options, over {@link CHANNEL_DEFAULTS}. */
  channelOptions?: ChannelOptions;
  local?: LocalUnaryTransport;
}

/**
 * Retried by default: UNAVAILABLE only (no connection, or the server went away), three attempts.
 * A call whose connection broke after the server got it may then run twice: the domain's writes
 * an app server repeats are idempotent (imports report existing ids, sends dedupe by messageId);
 * pass `retry: false` for a call that is not.
 */
export const RETRY_DEFAULTS: RetryPolicy = Object.freeze({
  attempts: 3,
  initialMs: 100,
  maxMs: 1_000,
  codes: Object.freeze([status.UNAVAILABLE]),
});

/**
 * grpc-js waits 1 s after a failed connect, growing to 2 minutes; an app server talking to a
 * domain that restarts wants it back within a second.
 */
export const CHANNEL_DEFAULTS: ChannelOptions = Object.freeze({
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
});

const DEFAULT_TIMEOUT_MS = 10_000;
/** How long a self-signed token is reused; it is made to live twice as long. */
const TOKEN_REUSE_MS = 5 * 60_000;

/**
 * The typed client an app server (or a tool, test or bench) uses for the domain's gRPC services:
 * `client.users.importUsers({...})`, one property per service of the contracts, each call signed
 * as the identity, with a deadline and retries. One channel per client; `close()` it when done.
 * Requests are partial: fields left out take the defaults of a decoded empty message.
 */
export class AppClient implements ServiceCallers {
  readonly appId: number;
  readonly userId: string;
  readonly #identity: AppIdentity;
  readonly #channel: Client;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy | false;
  readonly #local: LocalUnaryTransport | undefined;
  readonly #callers = new Map<ServiceName, object>();
  #token: { value: string; madeAt: number } | undefined;

  /** @throws AppClientOptionError on a bad option, before any connection is made */
  constructor(options: AppClientOptions) {
    checkOptions(options);
    this.appId = options.appId;
    this.userId = options.identity.userId;
    this.#identity = options.identity;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retry = retryPolicy(options.retry, RETRY_DEFAULTS);
    this.#local = options.local;
    this.#channel = new Client(options.target, credentials.createInsecure(), {
      ...CHANNEL_DEFAULTS,
      ...options.channelOptions,
    });
  }

  get chat() {
    return this.service("chat");
  }
  get conversations() {
    return this.service("conversations");
  }
  get friendGroups() {
    return this.service("friendGroups");
  }
  get friendRequests() {
    return this.service("friendRequests");
  }
  get friendships() {
    return this.service("friendships");
  }
  get groupMembers() {
    return this.service("groupMembers");
  }
  get groups() {
    return this.service("groups");
  }
  get history() {
    return this.service("history");
  }
  get messages() {
    return this.service("messages");
  }
  get presence() {
    return this.service("presence");
  }
  get routes() {
    return this.service("routes");
  }
  get users() {
    return this.service("users");
  }

  /** The typed methods of one service (the properties above are shorthands for this). */
  service<K extends ServiceName>(name: K): ServiceCaller<(typeof SERVICES)[K]> {
    let caller = this.#callers.get(name);
    if (caller === undefined) {
      caller = this.callerOf(SERVICES[name]);
      this.#callers.set(name, caller);
    }
    return caller as ServiceCaller<(typeof SERVICES)[K]>;
  }

  /** The typed methods of any generated grpc-js service definition (`XServiceService`). */
  callerOf<D extends object>(definition: D): ServiceCaller<D> {
    const methods: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(definition)) {
      methods[key] = (request: object, options?: CallOptions) =>
        this.call(method as UnaryMethod<object, unknown>, request, options);
    }
    return Object.freeze(methods) as ServiceCaller<D>;
  }

  /**
   * Calls one method of a generated service definition. Rejects with the grpc-js ServiceError of
   * the last attempt (`code`, `details`; the WhaleShark error code in its `whaleshark-code`
   * trailer: lib/grpc/errors.ts `errorCodeOf`).
   */
  async call<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Partial<Req>,
    options?: CallOptions,
  ): Promise<Res> {
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new AppClientOptionError("timeoutMs", `must be a positive number of ms, got ${timeoutMs}`);
    }
    const retry =
      options?.retry === undefined ? this.#retry : retryPolicy(options.retry, this.#retry || RETRY_DEFAULTS);
    const full = { ...method.requestDeserialize(Buffer.alloc(0)), ...request } as Req;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(method, full, deadline);
      } catch (error) {
        const code = (error as Partial<ServiceError>).code;
        if (
          retry === false ||
          attempt >= retry.attempts ||
          code === undefined ||
          !retry.codes.includes(code)
        ) {
          throw error;
        }
        const wait = backoff(retry, attempt);
        if (Date.now() + wait >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Closes the channel; calls made afterwards fail. */
  close(): void {
    this.#channel.close();
  }

  #once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, deadline: number): Promise<Res> {
    const metadata = this.#metadata();
    const local = this.#local?.call(method.path, method.requestSerialize(request), metadata, deadline);
    if (local !== undefined) return local.then(method.responseDeserialize);
    return new Promise<Res>((resolve, reject) => {
      this.#channel.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline },
        (error: ServiceError | null, response?: Res) =>
          error || response === undefined ? reject(error) : resolve(response),
      );
    });
  }

  #metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(AUTH_METADATA.appId, String(this.appId));
    metadata.set(AUTH_METADATA.identifier, this.userId);
    metadata.set(AUTH_METADATA.userSign, this.#userSign());
    return metadata;
  }

  #userSign(): string {
    const identity = this.#identity;
    if ("userSign" in identity) {
      return typeof identity.userSign === "function" ? identity.userSign() : identity.userSign;
    }
    const now = Date.now();
    if (this.#token === undefined || now - this.#token.madeAt > TOKEN_REUSE_MS) {
      const value = generateUserSign({
        appId: this.appId,
        identifier: identity.userId,
        privateKey: identity.privateKey,
        expireSeconds: (2 * TOKEN_REUSE_MS) / 1000,
      });
      this.#token = { value, madeAt: now };
    }
    return this.#token.value;
  }
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function retryPolicy(
  given: Partial<RetryPolicy> | false | undefined,
  defaults: RetryPolicy,
): RetryPolicy | false {
  if (given === false) return false;
  const policy = { ...defaults, ...given };
  if (!(Number.isSafeInteger(policy.attempts) && policy.attempts >= 1)) {
    throw new AppClientOptionError("retry.attempts", `must be an integer ≥ 1, got ${policy.attempts}`);
  }
  for (const key of ["initialMs", "maxMs"] as const) {
    if (!(Number.isFinite(policy[key]) && policy[key] >= 0)) {
      throw new AppClientOptionError(`retry.${key}`, `must be a number of ms ≥ 0, got ${policy[key]}`);
    }
  }
  if (!Array.isArray(policy.codes) || !policy.codes.every((c) => Number.isInteger(c) && c > 0 && c <= 16)) {
    throw new AppClientOptionError("retry.codes", "must list gRPC status codes (1-16)");
  }
  return policy;
}

function checkOptions(options: AppClientOptions): void {
  if (typeof options.target !== "string" || options.target.trim() === "") {
    throw new AppClientOptionError(
      "target",
      "must be host:port or a discovery target (zk:///whaleshark.domain)",
    );
  }
  if (!(Number.isSafeInteger(options.appId) && options.appId > 0)) {
    throw new AppClientOptionError("appId", `must be a positive integer, got ${options.appId}`);
  }
  const identity = options.identity as Partial<{ userId: unknown; privateKey: unknown; userSign: unknown }>;
  if (typeof identity?.userId !== "string" || identity.userId === "" || identity.userId.length > 50) {
    throw new AppClientOptionError("identity.userId", "must be a user id of 1-50 characters");
  }
  const signs = typeof identity.userSign === "string" || typeof identity.userSign === "function";
  const keyed = typeof identity.privateKey === "string" && identity.privateKey !== "";
  if (signs === keyed) {
    throw new AppClientOptionError("identity", "needs exactly one of privateKey (the app's key) or userSign");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new AppClientOptionError("timeoutMs", `must be a positive number of ms, got ${timeoutMs}`);
  }
}
