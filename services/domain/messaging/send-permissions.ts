import type { Database } from "../../../lib/ports/db.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import { TokenCache } from "../cache/token-cache.js";
import {
  type GroupSendRows,
  loadGroupSendRows,
  loadP2PSendRows,
  loadPrivateChatBlock,
  type P2PSendRows,
} from "./send-checks.js";

/** Entries per cache: a P2P pair or a (group, sender) is ~1 KiB, so at most ~50 MiB each. */
const MAX_ENTRIES = 50_000;
/** Longest a copy is used whatever its tokens say (rows edited behind the domain's back). */
const MAX_AGE_MS = 60_000;

/**
 * The rows the send checks read, cached per domain process (issue 8: the
 * checks were two or three database queries on every send). A P2P entry
 * holds both users and both friendship rows, valid while the change tokens of
 * both users are unchanged; a group entry holds the sender, the group and the
 * sender's member row, valid while the sender's and the group's tokens are.
 * Every write to those rows bumps the tokens after commit, in the stores that
 * alone make those writes (users/user-store.ts, friendship/friendship-store.ts,
 * group/group-store.ts), so a block, a mute, a kick or a deleted user stops
 * the next send on every domain process. A hit costs one kv round
 * trip (MGET of two tokens) and no query.
 */
export class SendPermissions {
  readonly #db: () => Promise<Database>;
  readonly #p2p: TokenCache<P2PSendRows>;
  readonly #group: TokenCache<GroupSendRows>;

  constructor(opts: { db(): Promise<Database>; changes: ChangeTokens; now?: () => number }) {
    this.#db = opts.db;
    const cache = { tokens: opts.changes, maxEntries: MAX_ENTRIES, maxAgeMs: MAX_AGE_MS, now: opts.now };
    this.#p2p = new TokenCache(cache);
    this.#group = new TokenCache(cache);
  }

  /** The rows of a P2P send from `fromId` to `toId`. */
  p2p(appId: number, fromId: string, toId: string): Promise<P2PSendRows> {
    return this.#p2p.get(
      cacheKey(appId, fromId, toId),
      [ChangeTokens.user(appId, fromId), ChangeTokens.user(appId, toId)],
      async () => loadP2PSendRows(await this.#db(), appId, fromId, toId),
    );
  }

  /** The rows of a send by `fromId` to group `groupId`. */
  group(appId: number, fromId: string, groupId: string): Promise<GroupSendRows> {
    return this.#group.get(
      cacheKey(appId, groupId, fromId),
      [ChangeTokens.user(appId, fromId), ChangeTokens.group(appId, groupId)],
      async () => loadGroupSendRows(await this.#db(), appId, fromId, groupId),
    );
  }

  /**
   * The group whose privateChat setting forbids this P2P send, or null (send-checks.ts
   * checkPrivateChat, which asks only for non-friends under open messaging). Not cached: it
   * depends on both users' memberships, which change under group tokens.
   */
  async privateChatBlock(appId: number, fromId: string, toId: string): Promise<string | null> {
    return loadPrivateChatBlock(await this.#db(), appId, fromId, toId);
  }

  /** Hits and misses so far (tests, metrics). */
  stats(): { hits: number; misses: number } {
    return { hits: this.#p2p.hits + this.#group.hits, misses: this.#p2p.misses + this.#group.misses };
  }
}

function cacheKey(appId: number, a: string, b: string): string {
  return `${appId}\u0000${a}\u0000${b}`;
}
