import { redactUrl } from "./config-error.js";
import type { Config } from "./schema.js";

const REDACTED = "[redacted]";

/**
 * A deep copy of `config` that is safe to log: every app's `privateKey` and the password of every
 * URL are replaced by "[redacted]". The input is not changed.
 */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config) as {
    apps: Record<string, { privateKey: string }>;
    database: { url?: string };
    redis: { url?: string };
    amqp: { url?: string };
  };
  for (const app of Object.values(copy.apps)) app.privateKey = REDACTED;
  for (const section of [copy.database, copy.redis, copy.amqp]) {
    if (section.url !== undefined) section.url = redactUrl(section.url);
  }
  return copy as unknown as Config;
}
