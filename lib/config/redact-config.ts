import { REDACTED } from "../log/create-root-logger.js";
import { redactUrl } from "../log/redact-url.js";
import type { Config } from "./schema.js";

/**
 * A deep copy of `config` that is safe to log: every app's `privateKey`, the gateways' internal
 * secret (`domain.internalSecret`) and the password of every URL (database, Redis, RabbitMQ,
 * callbacks, Consul, the OTLP endpoint) are replaced by "[redacted]". The input is not changed.
 */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config) as {
    apps: Record<string, { privateKey: string }>;
    database: { url?: string };
    redis: { url?: string };
    amqp: { url?: string };
    callbacks: { url?: string };
    domain: { internalSecret?: string };
    discovery: { consulUrl?: string };
    tracing: { otlpEndpoint: string };
  };
  for (const app of Object.values(copy.apps)) app.privateKey = REDACTED;
  for (const section of [copy.database, copy.redis, copy.amqp, copy.callbacks]) {
    if (section.url !== undefined) section.url = redactUrl(section.url);
  }
  if (copy.domain.internalSecret !== undefined) copy.domain.internalSecret = REDACTED;
  if (copy.discovery.consulUrl !== undefined) copy.discovery.consulUrl = redactUrl(copy.discovery.consulUrl);
  copy.tracing.otlpEndpoint = redactUrl(copy.tracing.otlpEndpoint);
  return copy as unknown as Config;
}
