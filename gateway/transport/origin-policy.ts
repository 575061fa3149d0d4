/** The WebSocket Origin allow-list; the policy itself is shared with the HTTP API's CORS (lib/net). */
export {
  allowedOrigins,
  ORIGIN_PATTERN,
  type OriginPolicy,
  originPolicy,
} from "../../lib/net/origin-policy.js";
