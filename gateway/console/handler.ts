import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import type { OriginPolicy } from "../transport/origin-policy.js";
import { type DemoLoginOptions, demoLogin } from "./demo-login.js";
import type { OpsSampler } from "./ops.js";
import { DEMO_USERS } from "./settings.js";
import { readConsoleFile, resolveConsoleFile } from "./static-files.js";

/** Largest demo-login body read (`{"userId": ...}` is tiny); a larger one is 413. */
const MAX_BODY_BYTES = 4096;

/** What the console's routes need (gateway/start.ts builds it from the config). */
export interface ConsoleHandlerOptions {
  /** `gateway.console`: false answers every console path 404. */
  enabled: boolean;
  profile: "embedded" | "distributed";
  appId: number;
  /** `gateway.wsPath`, for config.json. */
  wsPath: string;
  /**
   * The HTTP API address for the page: `gateway.consoleHttpApi`, else (embedded) the domain's
   * port on the host the page was loaded from; else "".
   */
  httpApi: { configured: string | undefined; embeddedPort: () => number | undefined };
  demo: DemoLoginOptions;
  ops: OpsSampler;
  /** `gateway.allowedOrigins`: a browser POST from another origin is refused (403). */
  origins: OriginPolicy;
  logger: Logger;
  /** The built page's folder (default gen/console; tests pass their own). */
  root: string;
}

/** Headers of every console answer. */
const COMMON_HEADERS = {
  "x-content-type-options": "nosniff",
  // The page may carry a userSign in its URL (?userSign=): never send it on as a Referer.
  "referrer-policy": "no-referrer",
} as const;

/**
 * The console's HTTP routes on the WebSocket port (README "Web console"): `GET /` the page,
 * `GET /console/<file>` its files, `GET /console/config.json`, `GET /console/ops.json`,
 * `POST /console/demo-login`. Returns false for a path that is not the console's, which the
 * caller answers as before (426). Where the console is off, its paths answer 404.
 */
export function createConsoleHandler(
  options: ConsoleHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    if (path !== "/" && path !== "/console" && !path.startsWith("/console/")) return false;
    if (!options.enabled) {
      send(res, 404, "text/plain; charset=utf-8", "the console is off (gateway.console)\n", req.method);
      return true;
    }
    void route(options, req, res, path).catch((err: unknown) => {
      options.logger.error({ err, path }, "console request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" }, req.method);
      else res.destroy();
    });
    return true;
  };
}

async function route(
  options: ConsoleHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? "GET";
  if (path === "/console/demo-login") {
    if (method !== "POST") return methodNotAllowed(res, "POST", method);
    return answerDemoLogin(options, req, res);
  }
  if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, "GET, HEAD", method);
  if (path === "/console/config.json") return sendJson(res, 200, configJson(options, req), method);
  if (path === "/console/ops.json") return sendJson(res, 200, await options.ops.read(), method);
  if (path === "/") {
    if (!existsSync(join(options.root, "index.html"))) {
      const text = "the console is not built: run npm run gen (it writes gen/console/)\n";
      return send(res, 503, "text/plain; charset=utf-8", text, method);
    }
    return sendFile(res, join(options.root, "index.html"), method);
  }
  const file = resolveConsoleFile(options.root, path.slice("/console/".length));
  if (file === undefined) return send(res, 404, "text/plain; charset=utf-8", "not found\n", method);
  return sendFile(res, file, method);
}

/** GET /console/config.json: what the page needs to reach this deployment. */
function configJson(options: ConsoleHandlerOptions, req: IncomingMessage): Record<string, unknown> {
  return {
    appId: options.appId,
    wsPath: options.wsPath,
    httpApi: httpApiFor(options.httpApi, req.headers.host),
    demoLogin: options.demo.enabled,
    profile: options.profile,
    demoUsers: DEMO_USERS.map((u) => u.userId),
  };
}

/** A Host header's host name when it is a plain one (a name, IPv4, or bracketed IPv6). */
const HOST_NAME = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;

/**
 * The HTTP API address as the browser should reach it: the configured one, else in the embedded
 * profile the domain's port on the host name the page itself was loaded from (so a page opened as
 * http://192.168.1.5:19002/ calls http://192.168.1.5:18000), else "".
 */
export function httpApiFor(httpApi: ConsoleHandlerOptions["httpApi"], host: string | undefined): string {
  if (httpApi.configured !== undefined) return httpApi.configured.replace(/\/+$/, "");
  const port = httpApi.embeddedPort();
  if (port === undefined) return "";
  const match = HOST_NAME.exec(host ?? "");
  return `http://${match?.[1] ?? "127.0.0.1"}:${port}`;
}

async function answerDemoLogin(
  options: ConsoleHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const origin = req.headers.origin;
  if (origin !== undefined && !options.origins.allows(origin)) {
    return sendJson(res, 403, { error: "origin not allowed (gateway.allowedOrigins)" });
  }
  if (!options.demo.enabled) return sendJson(res, 403, { error: "demo login is disabled" });
  // JSON only: a cross-site form post (text/plain, no CORS preflight) is refused before it runs.
  const type = String(req.headers["content-type"] ?? "")
    .split(";")[0]
    ?.trim()
    .toLowerCase();
  if (type !== "application/json") {
    return sendJson(res, 415, { error: "the body must be JSON (content-type: application/json)" });
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined)
    return sendJson(res, 413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
  let answer: Awaited<ReturnType<typeof demoLogin>>;
  try {
    answer = await demoLogin(options.demo, body);
  } catch (err) {
    options.logger.warn({ err }, "demo login could not create its user");
    return sendJson(res, 503, { error: "the user could not be created: the domain did not answer" });
  }
  if (answer.status === 200) options.logger.info({ userId: answer.body.userId }, "demo login");
  return sendJson(res, answer.status, answer.body);
}

/** The request body as text, or undefined past `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function sendFile(res: ServerResponse, file: string, method: string | undefined): Promise<void> {
  const found = await readConsoleFile(file);
  if (found === undefined) return send(res, 404, "text/plain; charset=utf-8", "not found\n", method);
  send(res, 200, found.contentType, found.body, method);
}

function methodNotAllowed(res: ServerResponse, allow: string, method: string): void {
  res.setHeader("allow", allow);
  send(res, 405, "text/plain; charset=utf-8", `${method} is not allowed here (allowed: ${allow})\n`, method);
}

function sendJson(res: ServerResponse, status: number, body: unknown, method?: string): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), method);
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  method: string | undefined,
): void {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    "content-type": contentType,
    "content-length": bytes.length,
    "cache-control": "no-cache",
  });
  res.end(method === "HEAD" ? undefined : bytes);
}
