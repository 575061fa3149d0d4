/** Public surface of the configuration module (docs/architecture.md §7). */
export { ConfigError } from "./config-error.js";
export type { DeepPartial } from "./deep.js";
export { DEFAULT_CONFIG_FILE } from "./file-source.js";
export { type LoadConfigOptions, loadConfig } from "./load-config.js";
export { redactConfig } from "./redact-config.js";
export { type AppConfig, type Config, LOG_LEVELS, NEEDS, type Need, PROFILES } from "./schema.js";
