import type { Database } from "../../../lib/ports/db.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import { TokenCache } from "../cache/token-cache.js";
import { ROLE } from "../group/groups.js";

/** What {@link GroupMembers} is built from. */
export interface GroupMembersOptions {
  db(): Promise<Database>;
  tokens: ChangeTokens;
  /** Groups kept (least recently used go first); default 1 000. */
  maxEntries?: number;
  /** Longest a list is used however current its token (rows changed behind the domain's back); default 60 s. */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * The member ids of groups, for fan-out (2104, recall 1052): one list per
 * group cached in this domain process while the group's change token
 * (`ChangeTokens.group`, bumped by every write of the group's member rows) is
 * the one it was read under. A message to a group then costs one kv read
 * instead of a query of all its member rows (10 000 rows for a large group,
 * on every message). The lists are shared: callers must not change them.
 */
export class GroupMembers {
  readonly #db: () => Promise<Database>;
  readonly #cache: TokenCache<readonly string[]>;

  constructor(opts: GroupMembersOptions) {
    this.#db = opts.db;
    this.#cache = new TokenCache({
      tokens: opts.tokens,
      maxEntries: opts.maxEntries ?? 1_000,
      maxAgeMs: opts.maxAgeMs ?? 60_000,
      ...(opts.now === undefined ? {} : { now: opts.now }),
    });
  }

  /** The ids of the group's current members (role not LEAVE), in join order, the sender included (spec §5.4). */
  idsOf(appId: number, groupId: string): Promise<readonly string[]> {
    return this.#cache.get(`${appId}:${groupId}`, [ChangeTokens.group(appId, groupId)], async () =>
      loadMemberIds(await this.#db(), appId, groupId),
    );
  }

  /** Cache counters (tests, metrics). */
  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.#cache.hits, misses: this.#cache.misses, size: this.#cache.size };
  }
}

/** The ids of a group's current members from the database (role not LEAVE), in join order. */
export async function loadMemberIds(db: Database, appId: number, groupId: string): Promise<string[]> {
  const rows = await db.groupMember.findMany({
    where: { appId, groupId, role: { not: ROLE.LEAVE } },
    select: { memberId: true },
    orderBy: { groupMemberId: "asc" },
  });
  return rows.map((r) => r.memberId);
}
