import type { Logger } from "pino";
import { Histogram, type Registry } from "prom-client";
import { ErrorCatalogue, errorNameOf, GrpcStatus, ImError } from "../../../lib/errors/index.js";
import { withStatus } from "../../../lib/grpc/errors.js";
import {
  type AfterEvent,
  type BeforeEvent,
  CALLBACK_EVENTS,
  type CallbackEvent,
  type CallbacksConfig,
} from "./events.js";

/**
 * Webhooks to the app server (spec §7): `POST {url}?appId={appId}&command={event}`
 * with the event's JSON body, `Content-Type: application/json; charset=utf-8`.
 *
 * - Each event fires only when its own flag is on and a URL is configured (D8).
 * - Before-callbacks are synchronous. The reply is a ResponseVO
 *   `{code, msg, data}`: code 200 lets the action go ahead and hands `data`
 *   back (group.member.add.before may replace the member list with it); any
 *   other code refuses the action with that code and message. A reply that
 *   does not come (network error, timeout) or is unusable (HTTP status other
 *   than 2xx, not a ResponseVO) is a failure: `beforeFailure: open` lets the
 *   action go ahead (the original's behaviour for transport errors),
 *   `closed` refuses it with 71000 SERVER_NOT_AVAILABLE. The original
 *   crashed on a non-200 HTTP status (D8); both kinds of failure now follow
 *   the one setting.
 * - After-callbacks are sent in the background after the action succeeded:
 *   up to `afterMaxAttempts` tries on failure (network error, timeout,
 *   non-2xx status), waiting `afterRetryDelayMs` doubled per retry, then
 *   logged and dropped. At most `afterMaxPending` wait or run at once; more
 *   are dropped and logged, so a dead app server cannot grow memory. They
 *   live in this process only: a crash loses those still pending.
 */
export class Callbacks {
  readonly #config: CallbacksConfig;
  readonly #log: Logger;
  readonly #fetch: typeof fetch;
  readonly #pending = new Set<Promise<void>>();
  #duration: Histogram<"event" | "outcome"> | undefined;

  constructor(config: CallbacksConfig, logger: Logger, fetchImpl: typeof fetch = fetch) {
    this.#config = config;
    this.#log = logger.child({ component: "callbacks" });
    this.#fetch = fetchImpl;
  }

  /**
   * Reports every before-callback's duration on `registry`:
   * `whaleshark_callback_before_seconds{event, outcome}`, outcome `allowed`, `refused` or
   * `failed` (what a send or a write waited for the app server).
   */
  observeOn(registry: Registry): void {
    this.#duration = new Histogram({
      name: "whaleshark_callback_before_seconds",
      help: "Time a before-callback took, by event and outcome (allowed, refused, failed)",
      labelNames: ["event", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  /** Whether `event` fires at all (URL configured and the event's flag on). */
  enabled(event: CallbackEvent): boolean {
    return this.#config.url !== undefined && this.#config[CALLBACK_EVENTS[event].flag];
  }

  /**
   * Runs a before-callback. Resolves with the reply's `data` (undefined when
   * the event is off or failed open).
   * @throws ImError with the app server's code when it refuses, or 71000
   *   when it fails and `beforeFailure` is closed
   */
  async before(appId: number, event: BeforeEvent, body: unknown): Promise<unknown> {
    if (!this.enabled(event)) return undefined;
    let reply: { code: number; msg: string; data: unknown };
    const done = this.#duration?.startTimer({ event });
    try {
      reply = parseResponseVo(await this.#send(appId, event, body));
    } catch (error) {
      done?.({ outcome: "failed" });
      this.#log.warn(
        { err: error, event, appId, failure: this.#config.beforeFailure },
        "before-callback failed",
      );
      if (this.#config.beforeFailure === "open") return undefined;
      throw ImError.of("SERVER_NOT_AVAILABLE", "callback endpoint unavailable", { cause: error });
    }
    const allowed = reply.code === ErrorCatalogue.SUCCESS.code;
    done?.({ outcome: allowed ? "allowed" : "refused" });
    if (!allowed) throw vetoError(reply.code, reply.msg);
    return reply.data;
  }

  /** Schedules an after-callback; never throws and never waits for the app server. */
  after(appId: number, event: AfterEvent, body: unknown): void {
    if (!this.enabled(event)) return;
    if (this.#pending.size >= this.#config.afterMaxPending) {
      this.#log.warn(
        { event, appId, pending: this.#pending.size },
        "after-callback dropped: too many pending",
      );
      return;
    }
    const task = this.#deliverAfter(appId, event, body).finally(() => this.#pending.delete(task));
    this.#pending.add(task);
  }

  /** Resolves once every after-callback scheduled so far has settled (graceful stop, tests). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #deliverAfter(appId: number, event: AfterEvent, body: unknown): Promise<void> {
    const { afterMaxAttempts, afterRetryDelayMs } = this.#config;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#send(appId, event, body);
        return;
      } catch (error) {
        if (attempt >= afterMaxAttempts) {
          this.#log.warn({ err: error, event, appId, attempts: attempt }, "after-callback given up");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, afterRetryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** One POST; resolves with the parsed JSON reply (null for an empty body), rejects on any failure. */
  async #send(appId: number, event: CallbackEvent, body: unknown): Promise<unknown> {
    const url = new URL(this.#config.url ?? "");
    url.searchParams.set("appId", String(appId));
    url.searchParams.set("command", event);
    const response = await this.#fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify(body ?? null),
      signal: AbortSignal.timeout(this.#config.timeoutMs),
    });
    // Read the body inside the timeout too: a server that stalls mid-reply is a timeout.
    const text = await response.text();
    if (!response.ok) throw new Error(`callback answered HTTP ${response.status}`);
    return text.trim() === "" ? null : JSON.parse(text);
  }
}

function parseResponseVo(value: unknown): { code: number; msg: string; data: unknown } {
  if (typeof value !== "object" || value === null) throw new Error("callback reply is not a ResponseVO");
  const { code, msg, data } = value as Record<string, unknown>;
  if (typeof code !== "number" || !Number.isInteger(code))
    throw new Error("callback reply has no integer code");
  return { code, msg: typeof msg === "string" ? msg : "", data };
}

/**
 * The error for a refusing before-callback: the app server's code and text
 * reach the API caller unchanged (spec §7). A code of our catalogue keeps
 * its gRPC status; any other crosses as FAILED_PRECONDITION.
 */
function vetoError(code: number, msg: string): ImError {
  const known = errorNameOf(code);
  const error = ImError.of(known ?? "SYSTEM_ERROR");
  const message =
    msg !== "" ? msg : known !== undefined ? ErrorCatalogue[known].message : "refused by callback";
  // `code` and `message` are plain fields of the error object; the callback's own values replace them.
  Object.defineProperty(error, "code", { value: code });
  Object.defineProperty(error, "message", { value: message });
  return known !== undefined ? error : withStatus(error, GrpcStatus.FAILED_PRECONDITION);
}
