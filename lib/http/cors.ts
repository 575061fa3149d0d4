import type { IncomingMessage, ServerResponse } from "node:http";
import type { OriginPolicy } from "../net/origin-policy.js";

/**
 * CORS for the HTTP API (`http.allowedOrigins`, lib/net/origin-policy.ts): what lets a page of
 * another origin (the original's wechat-plus.html, a web app) call the API from a browser.
 *
 * - A request without `Origin` (curl, app servers, anything but a browser) is not a CORS request
 *   and passes.
 * - A request from an allowed origin gets `Access-Control-Allow-Origin: <that origin>` (never `*`
 *   with credentials, as the original did: the API authenticates by userSign in the query or
 *   headers, never by cookies, so no credentials mode is offered).
 * - A request from another origin is refused with 403 before anything runs: the browser would hide
 *   the answer from the page, but the call itself would still act.
 * - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is answered
 *   204 with the methods and the requested headers, cached by the browser for an hour (the
 *   original's max-age).
 */

/** What {@link applyCors} decided. */
export type CorsOutcome = "pass" | "refused" | "preflight";

/** Seconds a browser may cache a preflight answer (the original's 3600). */
export const PREFLIGHT_MAX_AGE_SECONDS = 3600;

/** Headers a page may send besides the CORS-safelisted ones (answered when requested). */
const ALLOWED_HEADERS = /^[a-z0-9-]+$/;

/**
 * Sets the CORS headers of `res` for `req`. On "refused" and "preflight" the caller answers at once
 * (403 / 204 with no body); on "pass" it handles the request.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, policy: OriginPolicy): CorsOutcome {
  const origin = req.headers.origin;
  if (origin === undefined) return "pass";
  res.setHeader("Vary", "Origin");
  if (!policy.allows(origin)) return "refused";
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Access-Control-Expose-Headers", "whaleshark-code");
  const requestedMethod = req.headers["access-control-request-method"];
  if (req.method !== "OPTIONS" || requestedMethod === undefined) return "pass";
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  const requested = String(req.headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => ALLOWED_HEADERS.test(h));
  if (requested.length > 0) res.setHeader("Access-Control-Allow-Headers", requested.join(", "));
  res.setHeader("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_SECONDS));
  return "preflight";
}
