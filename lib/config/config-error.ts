import { redactUrl } from "../log/redact-url.js";

/**
 * A configuration problem found at start-up. The message is ONE line:
 * `config: <key> (<where it came from>): expected <what>, got <value>`, so it reads well in a
 * container log. Secret values (private keys, URL passwords) never appear in it.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  /**
   * @param message the one-line description (newlines are flattened to keep it one line)
   * @param problems every problem found, first one first; `message` describes the first
   */
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message.replace(/\s*\n\s*/g, " "));
  }
}

const MAX_SHOWN = 80;

/** Describes a given value for an error message without leaking secrets. */
export function describeValue(path: readonly PropertyKey[], value: unknown): string {
  if (value === undefined) return "nothing";
  const last = String(path[path.length - 1] ?? "");
  // Anything under `apps` may be or contain a private key, and a key named like a secret
  // (domain.internalSecret, a password, a token) is one: show only its shape.
  if (/privatekey|secret|password|token/i.test(last) || path[0] === "apps") {
    if (typeof value === "string") return `a string of ${value.length} characters`;
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object" && value !== null) {
      return Object.keys(value).length === 0 ? "no apps" : "an object";
    }
  }
  if (typeof value === "string" && /url$/i.test(last)) return JSON.stringify(redactUrl(value));
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}
