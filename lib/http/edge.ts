import type { IncomingMessage, ServerResponse } from "node:http";
import { fromBinary, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ErrorCatalogue, ImError, isImError, type ResponseVo } from "../errors/index.js";
import { AUTH_METADATA, OPEN_CALL_METADATA, openCallToken } from "../grpc/auth.js";
import { errorCodeOf } from "../grpc/errors.js";
import type { InProcessServices } from "../grpc/in-process.js";
import { type OriginPolicy, originPolicy } from "../net/origin-policy.js";
import { connectStatusOf } from "./connect-status.js";
import { applyCors } from "./cors.js";
import type { HttpMetrics } from "./metrics.js";
import { readRequest, writeField, writeOriginal } from "./original-json.js";
import type { HttpRoute, RouteTable } from "./routes.js";

/** How the HTTP API of one server behaves (the `http` config section). */
export interface HttpEdgePolicy {
  /** Browser origins answered with CORS; others are refused (403). */
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  /** Deadline of one call, in ms. */
  timeoutMs: number;
  /** An idle HTTP connection is closed after this many ms. */
  idleTimeoutMs: number;
  /**
   * `auth.login: open` (the original's D4, demos only): a call without a userSign acts as its
   * body's `operater` (and `appId`), never as an admin (lib/grpc/auth.ts OPEN_CALL_METADATA).
   */
  openLogin?: boolean;
}

/** What {@link HttpEdge} needs. */
export interface HttpEdgeOptions {
  routes: RouteTable;
  /** The handlers of the server's own services, as its gRPC callers reach them. */
  local: InProcessServices;
  policy: HttpEdgePolicy;
  logger: Logger;
  metrics: HttpMetrics;
}

/** Query parameters of the original's authentication design (spec §6.2) → gRPC metadata keys. */
const QUERY_AUTH: ReadonlyArray<[string, string]> = [
  ["appId", AUTH_METADATA.appId],
  ["identifier", AUTH_METADATA.identifier],
  ["userSign", AUTH_METADATA.userSign],
];

/** A transport-level refusal (no handler ran): its HTTP status and text. */
class HttpRefusal extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** One request in flight: what the answer and the access log need. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  started: bigint;
  url: URL;
  route: HttpRoute | undefined;
}

/** An answer: HTTP status, business code (0: no handler ran), JSON body (none for 204), headers. */
interface Answer {
  httpStatus: number;
  code: number;
  body: JsonValue | undefined;
  headers?: Record<string, string>;
}

/**
 * The generic HTTP/JSON edge of a gRPC server (issue 14): one handler for every route the
 * contracts declare (routes.ts), no code per endpoint. A request becomes the RPC's request message
 * (original-json.ts), its credentials (query `appId`, `identifier`, `userSign`, or the same names
 * as headers) become the call's metadata, and the call goes to the very handler the gRPC server
 * runs, in-process (lib/grpc/in-process.ts): authentication (60000–60005), the RequestBase check
 * (a user acts only for themself unless an app admin), bounds, text checks, deadlines and errors
 * are the gRPC service's own, nothing is repeated here.
 *
 * Answers:
 * - original routes: HTTP 200 with the original's ResponseVO `{code, msg, data, ok}` for every
 *   answer a handler gave, errors included (the original's thrown errors lost their code in an
 *   HTTP 500; a body the request message cannot hold is 90001, where the original answered 400);
 * - Connect routes: HTTP 200 with the response's proto-JSON, or the Connect error JSON
 *   `{code, message}` with its HTTP status and the business code in header `whaleshark-code`;
 * - either: 403 for a browser origin not allowed (cors.ts), 404 unknown path, 405 wrong method,
 *   413 body past `maxBodyBytes`, 504 when the deadline passed, 503 while the server stops.
 *
 * The access log (info) names method, path, route, HTTP status, business code and time; never
 * the query string or headers, which carry the userSign.
 */
export class HttpEdge {
  readonly #opts: HttpEdgeOptions;
  readonly #origins: OriginPolicy;
  readonly #log: Logger;
  #stopping = false;

  constructor(opts: HttpEdgeOptions) {
    this.#opts = opts;
    this.#origins = originPolicy(opts.policy.allowedOrigins);
    this.#log = opts.logger.child({ component: "http" });
  }

  /** From now on every call is answered 503 (the server is stopping; its gRPC callers drain). */
  stop(): void {
    this.#stopping = true;
  }

  /** Handles one HTTP request (the `request` listener of a node:http server). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const exchange: Exchange = {
      req,
      res,
      started: process.hrtime.bigint(),
      url: new URL(req.url ?? "/", "http://edge"),
      route: undefined,
    };
    const refuse = (httpStatus: number, msg: string, headers: Record<string, string> = {}) =>
      this.#finish(exchange, { httpStatus, code: 0, body: vo(httpStatus, msg, null), headers });

    const cors = applyCors(req, res, this.#origins);
    if (cors === "refused") {
      refuse(403, "origin not allowed");
      return;
    }
    if (cors === "preflight") {
      this.#finish(exchange, { httpStatus: 204, code: 0, body: undefined });
      return;
    }
    const match = this.#opts.routes.match(req.method ?? "GET", exchange.url.pathname);
    if (match === undefined) {
      refuse(404, "no such path");
      return;
    }
    if (req.method === "OPTIONS") {
      // Not a preflight (those were answered above): say what the path takes, run nothing, as the
      // original's Spring answered OPTIONS for every mapping.
      const allow = "notAllowed" in match ? match.notAllowed : match.route.methods;
      const methods =
        allow.length === 0 ? "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" : `${allow.join(", ")}, OPTIONS`;
      this.#finish(exchange, { httpStatus: 204, code: 0, body: undefined, headers: { Allow: methods } });
      return;
    }
    if ("notAllowed" in match) {
      refuse(405, "method not allowed", { Allow: match.notAllowed.join(", ") });
      return;
    }
    const route = match.route;
    exchange.route = route;
    this.#run(route, req, exchange.url)
      .then(
        (answer) => this.#finish(exchange, { httpStatus: 200, ...answer }),
        (thrown: unknown) => {
          if (thrown instanceof HttpRefusal) refuse(thrown.httpStatus, thrown.message, thrown.headers);
          else this.#finish(exchange, failureAnswer(route, thrown));
        },
      )
      .catch((err: unknown) => {
        this.#log.error({ err }, "http answer failed");
        res.destroy();
      });
  }

  /** Writes the answer, counts it and logs it (never the query string: it carries the userSign). */
  #finish(exchange: Exchange, answer: Answer): void {
    const { req, res, url } = exchange;
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    if (!res.headersSent) {
      res.writeHead(answer.httpStatus, {
        ...(text === "" ? {} : { "Content-Type": "application/json; charset=utf-8" }),
        "Content-Length": Buffer.byteLength(text),
        ...answer.headers,
      });
    }
    res.end(text);
    const seconds = Number(process.hrtime.bigint() - exchange.started) / 1e9;
    this.#opts.metrics.observe(exchange.route?.path ?? "unmatched", answer.httpStatus, answer.code, seconds);
    this.#log.info(
      {
        method: req.method,
        path: url.pathname,
        status: answer.httpStatus,
        code: answer.code,
        ms: Math.round(seconds * 1000),
        remote: req.socket.remoteAddress,
      },
      "http request",
    );
  }

  async #run(route: HttpRoute, req: IncomingMessage, url: URL): Promise<{ code: number; body: JsonValue }> {
    const deadline = Date.now() + this.#timeoutMs(req, route);
    const text = await readBody(req, this.#opts.policy.maxBodyBytes);
    let json: JsonValue;
    try {
      json = text.trim() === "" ? {} : (JSON.parse(text) as JsonValue);
    } catch {
      throw ImError.of("PARAMETER_ERROR", "the request body is not JSON");
    }
    const request = readRequest(route.input, json);
    const metadata = new Metadata();
    for (const [param, key] of QUERY_AUTH) {
      const value = url.searchParams.get(param) ?? headerOf(req, key);
      if (value !== undefined && value !== "") metadata.set(key, value);
    }
    if (this.#opts.policy.openLogin === true && metadata.get(AUTH_METADATA.userSign).length === 0) {
      // The original's unsigned calls (D4): the body says who acts.
      const base = request as { appId?: unknown; operater?: unknown };
      if (
        metadata.get(AUTH_METADATA.appId).length === 0 &&
        typeof base.appId === "number" &&
        base.appId > 0
      ) {
        metadata.set(AUTH_METADATA.appId, String(base.appId));
      }
      if (metadata.get(AUTH_METADATA.identifier).length === 0 && typeof base.operater === "string") {
        metadata.set(AUTH_METADATA.identifier, base.operater);
      }
      metadata.set(OPEN_CALL_METADATA, openCallToken());
    }
    if (this.#stopping) throw new HttpRefusal(503, "the server is stopping", { Connection: "close" });
    const bytes = toBinary(route.input, request as never);
    const pending = this.#opts.local.call(route.grpcPath, Buffer.from(bytes), metadata, deadline);
    // A method the server mounts without a handler: UNIMPLEMENTED, as grpc-js answers it.
    if (pending === undefined)
      throw Object.assign(new Error("unimplemented"), { code: status.UNIMPLEMENTED });
    const response = fromBinary(route.output, await pending) as unknown as Record<string, unknown>;
    if (route.kind === "connect") return { code: 200, body: toJson(route.output, response as never) };
    let data: JsonValue;
    if (route.responseBody !== undefined) {
      const value = response[route.responseBody.localName];
      data = value === undefined || value === null ? null : writeField(route.responseBody, value);
    } else {
      // An empty response message (most writes) is the original's `data: null`.
      data = route.output.fields.length === 0 ? null : writeOriginal(route.output, response);
    }
    const success = ErrorCatalogue.SUCCESS;
    return { code: success.code, body: vo(success.code, success.message, data) };
  }

  /** The call's deadline: the configured one, shortened by a Connect caller's `connect-timeout-ms`. */
  #timeoutMs(req: IncomingMessage, route: HttpRoute): number {
    const max = this.#opts.policy.timeoutMs;
    if (route.kind !== "connect") return max;
    const asked = Number(headerOf(req, "connect-timeout-ms"));
    return Number.isInteger(asked) && asked > 0 ? Math.min(asked, max) : max;
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function vo(code: number, msg: string, data: JsonValue): JsonValue {
  const body: ResponseVo<JsonValue> = { code, msg, data, ok: code === ErrorCatalogue.SUCCESS.code };
  return body as unknown as JsonValue;
}

/**
 * The answer to a failed call: an original route's ResponseVO with the business code (HTTP 200,
 * 504 past the deadline), or a Connect route's error JSON with its HTTP status.
 */
function failureAnswer(route: HttpRoute, thrown: unknown): Answer {
  const failure = failureOf(thrown);
  if (route.kind === "original") {
    return { httpStatus: failure.httpStatus, code: failure.code, body: vo(failure.code, failure.msg, null) };
  }
  const connect = connectStatusOf(failure.grpcStatus);
  return {
    httpStatus: connect.httpStatus,
    code: failure.code,
    body: { code: connect.code, message: failure.msg },
    headers: { "whaleshark-code": String(failure.code) },
  };
}

/** A failed call as business code, text, gRPC status and the HTTP status of an original route. */
function failureOf(thrown: unknown): { code: number; msg: string; grpcStatus: number; httpStatus: number } {
  if (isImError(thrown)) {
    // Refused before the call (the body): the same shape the service gives for its own 90001.
    return { code: thrown.code, msg: thrown.message, grpcStatus: thrown.grpcStatus, httpStatus: 200 };
  }
  const error = thrown as Partial<ServiceError>;
  const grpcStatus = typeof error.code === "number" ? error.code : status.UNKNOWN;
  const code = errorCodeOf(error) ?? ErrorCatalogue.SYSTEM_ERROR.code;
  if (grpcStatus === status.DEADLINE_EXCEEDED) {
    return { code, msg: "deadline exceeded", grpcStatus, httpStatus: 504 };
  }
  const msg = errorCodeOf(error) === undefined ? ErrorCatalogue.SYSTEM_ERROR.message : (error.details ?? "");
  return { code, msg, grpcStatus, httpStatus: 200 };
}

/**
 * The request body as text, at most `max` bytes: a larger declared length is refused before
 * anything is read, a larger body as soon as it passes the bound (413, connection closed).
 */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) {
    req.resume();
    return Promise.reject(
      new HttpRefusal(413, `the body is larger than ${max} bytes`, { Connection: "close" }),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpRefusal(413, `the body is larger than ${max} bytes`, { Connection: "close" }));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
