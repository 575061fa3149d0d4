import { generateUserSign } from "../../lib/auth/index.js";

/**
 * A small HTTP client for the HTTP API tests: the original's query authentication (spec §6.2:
 * `appId`, `identifier`, `userSign`) and JSON bodies, over plain HTTP/1.1 (fetch).
 */

/** One HTTP answer: status, parsed JSON body (undefined when empty) and headers. */
export interface HttpAnswer {
  status: number;
  body: Record<string, unknown> & { code?: number; msg?: string; data?: unknown; ok?: boolean };
  headers: Headers;
}

/** The query string of a signed call by `identifier` of `appId` (a fresh userSign of `ttlSeconds`). */
export function signedQuery(
  appId: number,
  identifier: string,
  privateKey: string,
  opts: { ttlSeconds?: number; now?: number } = {},
): string {
  const userSign = generateUserSign({
    appId,
    identifier,
    privateKey,
    expireSeconds: opts.ttlSeconds ?? 3600,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  return new URLSearchParams({ appId: String(appId), identifier, userSign }).toString();
}

/** Sends `body` as JSON to `base + path` (`query` appended), with `method` (POST by default). */
export async function send(
  base: string,
  path: string,
  body: unknown,
  opts: { query?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const url = `${base}${path}${opts.query === undefined || opts.query === "" ? "" : `?${opts.query}`}`;
  const method = opts.method ?? "POST";
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...opts.headers },
    ...(body === undefined || method === "GET" || method === "HEAD" ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === "" ? {} : (JSON.parse(text) as HttpAnswer["body"]),
    headers: res.headers,
  };
}
