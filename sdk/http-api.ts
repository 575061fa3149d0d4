import type { UserSignSource } from "./options.js";

/** Where and as whom to call the HTTP API (README "HTTP API"). */
export interface HttpApiOptions {
  /** The domain's HTTP API, e.g. `http://localhost:18000` (no trailing path). */
  baseUrl: string;
  appId: number;
  /** The user the calls act for (`identifier`). */
  userId: string;
  /** The same userSign the WebSocket login uses; a function is asked at every call. */
  userSign: UserSignSource;
  /** Defaults to the global fetch (browsers, Node ≥ 18). */
  fetch?: typeof fetch;
  /** Per-call deadline, ms (default 10 000), sent as `connect-timeout-ms` and enforced here. */
  timeoutMs?: number;
}

/** A refused or failed HTTP API call: `code` is the business ErrorCode (e.g. 40007), else 0. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    message: string,
    /** The HTTP status (0 when no answer came). */
    readonly httpStatus: number,
  ) {
    super(code === 0 ? message : `${code} ${message}`);
  }
}

/**
 * A small client of the HTTP API's Connect-style routes (`POST /whaleshark.v1.<Service>/<Method>`,
 * proto-JSON in and out). Browser-safe. Credentials go in the query string as the edge reads them
 * (`appId`, `identifier`, `userSign`): no custom header, so only the JSON content type needs a CORS
 * preflight. The RequestBase fields (`appId`, `operater`) are filled in for every call.
 */
export class HttpApi {
  readonly #o: Required<Omit<HttpApiOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: HttpApiOptions) {
    const f = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (f === undefined) throw new Error("no global fetch here: pass options.fetch");
    if (!/^https?:\/\/[^/]+$/.test(options.baseUrl.replace(/\/+$/, ""))) {
      throw new Error(
        `HttpApi: baseUrl must be http(s)://host[:port], got ${JSON.stringify(options.baseUrl)}`,
      );
    }
    this.#o = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      appId: options.appId,
      userId: options.userId,
      userSign: options.userSign,
      timeoutMs: options.timeoutMs ?? 10_000,
      // Called unbound: a browser's fetch refuses `this` other than the window.
      fetch: (input, init) => f(input, init),
    };
  }

  get userId(): string {
    return this.#o.userId;
  }

  get appId(): number {
    return this.#o.appId;
  }

  /**
   * Calls `service`.`method` (e.g. "ConversationService", "SyncConversations") with `body` (its
   * proto-JSON fields, camelCase) and resolves with the response's proto-JSON. Rejects with
   * ApiError: the business code from `whaleshark-code` (or 0 for a transport failure).
   */
  async call<T>(service: string, method: string, body: Record<string, unknown> = {}): Promise<T> {
    const sign = this.#o.userSign;
    const userSign = typeof sign === "function" ? await sign() : sign;
    const query = new URLSearchParams({
      appId: String(this.#o.appId),
      identifier: this.#o.userId,
      userSign,
    });
    const url = `${this.#o.baseUrl}/whaleshark.v1.${service}/${method}?${query}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#o.timeoutMs);
    let res: Response;
    try {
      res = await this.#o.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": String(this.#o.timeoutMs) },
        body: JSON.stringify({ appId: this.#o.appId, operater: this.#o.userId, ...body }),
        signal: controller.signal,
      });
    } catch (error) {
      // The URL carries the userSign: never put it into the error.
      const why = controller.signal.aborted ? `no answer within ${this.#o.timeoutMs} ms` : String(error);
      throw new ApiError(0, `${service}/${method}: ${why}`, 0);
    } finally {
      clearTimeout(timer);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(0, `${service}/${method}: HTTP ${res.status}, not JSON`, res.status);
    }
    if (!res.ok) {
      const code = Number(res.headers.get("whaleshark-code") ?? 0);
      const message = (json as { message?: unknown }).message;
      throw new ApiError(
        Number.isInteger(code) ? code : 0,
        typeof message === "string" ? message : `HTTP ${res.status}`,
        res.status,
      );
    }
    return json as T;
  }
}
