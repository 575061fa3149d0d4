import type { Database } from "../../../lib/ports/db.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import type { Pusher } from "../../../lib/push/pusher.js";
import type { ChangeTokens } from "../cache/change-tokens.js";
import type { Callbacks } from "../callbacks/callbacks.js";

/**
 * What the domain's business handlers share: the database, kv, the push
 * path, the callback dispatcher and the few domain settings. Built once by
 * `startDomain` (or a test) and handed to every service's handler factory.
 */
export interface DomainEnv {
  /** The database (opened on first use by the composition root). */
  db(): Promise<Database>;
  kv: KvStore;
  pusher: Pusher;
  callbacks: Callbacks;
  /**
   * Change tokens of users and groups (cache/change-tokens.ts): every write to
   * user, friendship, group or member rows bumps its scope after commit, so
   * the caches of every domain process see it.
   */
  changes: ChangeTokens;
  settings: DomainSettings;
  /** Current time in epoch ms (tests may pin it). */
  now(): number;
}

/** Domain settings from the `domain` config section. */
export interface DomainSettings {
  /** 1: deleting a conversation pushes 5000 to the owner's other devices; 2: not (spec §11). */
  deleteConversationSyncMode: number;
  /**
   * Config `messaging.checkFriendship` / `checkBlacklist`, for the services outside messaging that
   * apply the P2P rules too (read receipts of ConversationService.MarkRead, mark-read.ts).
   * Absent = true, the config's default.
   */
  checkFriendship?: boolean;
  checkBlacklist?: boolean;
}
