import { REDACTED } from "./create-root-logger.js";

/**
 * The URL with its password replaced by "[redacted]" (`scheme://user:password@host` becomes
 * `scheme://user:[redacted]@host`), fit for logs, error messages and printed config. The rest of the
 * text is kept exactly as given (no URL normalisation), so what an operator typed is what they read
 * back. URLs reach the adapters only after the config has checked them, so one textual rule serves
 * the config, the adapters and tracing alike.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, `$1${REDACTED}@`);
}
