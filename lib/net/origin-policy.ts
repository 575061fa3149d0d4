/**
 * Which browser pages may open a WebSocket to the gateway (`gateway.allowedOrigins`) or call the
 * HTTP API (`http.allowedOrigins`, CORS: lib/http/cors.ts). Browsers
 * send the page's `Origin` with every upgrade and let any page connect anywhere, so without this
 * check any web site a user visits could open connections to the gateway from the user's browser
 * (cross-site WebSocket hijacking, and one more way to spend the per-IP budget of the user's
 * address). Clients that are not browsers (the SDK on Node, mobile and desktop apps, the
 * original's clients) send no Origin and are always allowed: the check is about browsers only,
 * and LOGIN's userSign stays the authentication.
 *
 * Entries:
 * - `*`: every origin;
 * - `https://app.example.com` (optionally `:port`): exactly that origin (scheme, host and port;
 *   case-insensitive, default ports as the browser writes them, i.e. left out);
 * - `https://*.example.com`: any subdomain of example.com at any depth over https, not
 *   example.com itself.
 */
export interface OriginPolicy {
  /** Whether an upgrade carrying this `Origin` header (undefined: none sent) may proceed. */
  allows(origin: string | undefined): boolean;
}

/** The shape of one entry (checked by the config schema as well). */
export const ORIGIN_PATTERN = /^(\*|[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$/i;

/** The policy of a list of entries (see {@link OriginPolicy}); an empty list allows no browser origin. */
export function originPolicy(entries: readonly string[]): OriginPolicy {
  const exact = new Set<string>();
  const suffixes: Array<{ scheme: string; suffix: string }> = [];
  let any = false;
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === "*") any = true;
    else if (entry.includes("://*.")) {
      const [scheme = "", rest = ""] = entry.split("://*.");
      suffixes.push({ scheme: `${scheme}://`, suffix: `.${rest}` });
    } else exact.add(entry);
  }
  return {
    allows(origin) {
      if (origin === undefined || any) return true;
      const o = origin.trim().toLowerCase();
      if (exact.has(o)) return true;
      return suffixes.some(
        ({ scheme, suffix }) =>
          o.startsWith(scheme) &&
          o.endsWith(suffix) &&
          // a non-empty subdomain label before the suffix, and no port or path smuggled in front
          /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(o.slice(scheme.length, o.length - suffix.length)),
      );
    },
  };
}

/**
 * `gateway.allowedOrigins` with its profile default: every origin in the embedded profile (a
 * development setup, opened from any local page), none in the distributed one until configured.
 */
export function allowedOrigins(
  configured: readonly string[] | undefined,
  profile: string,
): readonly string[] {
  return configured ?? (profile === "embedded" ? ["*"] : []);
}
