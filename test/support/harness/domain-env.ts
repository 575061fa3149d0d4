import type { Logger } from "pino";
import type { Config } from "../../../lib/config/index.js";
import type { Bus } from "../../../lib/ports/bus.js";
import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { Pusher } from "../../../lib/push/pusher.js";
import { ChangeTokens } from "../../../services/domain/cache/change-tokens.js";
import { Callbacks } from "../../../services/domain/callbacks/callbacks.js";
import type { DomainEnv } from "../../../services/domain/core/env.js";
import { onlineWindowMs } from "../../../services/domain/start.js";

/**
 * The domain's env as `startDomain` builds it (services/domain/start.ts), from a parsed config, for
 * tests that drive the domain's handlers or its Messaging core without the whole role: the
 * callbacks section with the schema's defaults, the domain and messaging settings, the push path.
 * `now` pins the clock.
 */
export function testDomainEnv(deps: {
  config: Config;
  kv: KvStore;
  bus: Bus;
  db: Database;
  logger: Logger;
  now?: () => number;
}): DomainEnv {
  const { config, kv, bus, logger } = deps;
  return {
    db: async () => deps.db,
    kv,
    pusher: new Pusher({ kv, bus, logger, sessionTtlMs: onlineWindowMs(config) }),
    changes: new ChangeTokens(kv),
    callbacks: new Callbacks(config.callbacks, logger),
    settings: {
      deleteConversationSyncMode: config.domain.deleteConversationSyncMode,
      checkFriendship: config.messaging.checkFriendship,
      checkBlacklist: config.messaging.checkBlacklist,
    },
    now: deps.now ?? Date.now,
  };
}
