/**
 * The change tokens that keep the send path's caches right (services/domain/cache/change-tokens.ts)
 * are bumped by the aggregates' stores, never by hand in a handler (issue 19 item 2): a write that
 * forgot its bump let a blocked sender keep sending until the cache expired. This reads the
 * domain's source and holds four rules:
 * 1. only a `*-store.ts` file bumps (`changes.around`, `changes.bump…`);
 * 2. friendship and user rows (a user's scope) are written only in a `*-store.ts` file;
 * 3. group and member rows (a group's scope) are written only in group-store.ts, each write in a
 *    transaction its private `#change` opened and bumps after, and in group-rows.ts, the row
 *    helpers only group-store.ts may import: a handler that writes them, even on a `tx` it got
 *    from somewhere, or that imports those helpers, breaks the rule;
 * 4. conversation rows (im_conversation_set) are written only in conversation-store.ts: no cache
 *    holds them, so nothing is bumped, but the store is where their writes live (issue 19 item 2),
 *    and a future cache of them gets its bump there. The store role's raw SQL writers are another
 *    process (services/store) and are not scanned.
 * Test code and the messaging test harness (rows set up by hand, bumped by hand) are not scanned.
 */

/** User-row writes allowed outside a store, each with the reason no cache needs a bump. */
export const USER_ROW_WRITERS_OUTSIDE_STORES: ReadonlyMap<string, string> = new Map([
  [
    "services/domain/users/token-revocations.ts",
    "writes only tokens_revoked_before, which no token cache holds (the login check reads the kv mirror)",
  ],
]);

const WRITE = "(?:create|createMany|update|updateMany|upsert|delete|deleteMany)";
/** A bump of change tokens, or the former wrapper that bumped after named handlers. */
export const BUMP = /\bchanges\.(?:around|bump\w*)\s*\(|\bbumpingGroupWrites\b/;
/** A write of friendship or user rows. */
export const USER_SCOPE_WRITE = new RegExp(`\\.(?:friendship|userData)\\.${WRITE}\\s*\\(`);
/** The files that write group and member rows: the store, and its private row helpers. */
export const GROUP_STORE = "services/domain/group/group-store.ts";
export const GROUP_ROWS = "services/domain/group/group-rows.ts";
/** A write of group or member rows: through Prisma, or raw SQL on their tables (im_group_join_request is not one). */
export const GROUP_SCOPE_WRITE = new RegExp(
  `\\.(?:group|groupMember)\\.${WRITE}\\s*\\(|\\b(?:INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+im_group(?:_member)?\\b`,
  "i",
);
/** An import of the store-private row helpers (group-rows.ts). */
export const GROUP_ROWS_IMPORT = /["'][^"']*\/group-rows(?:\.js|\.ts)?["']/;
/** The one domain file that writes conversation rows. */
export const CONVERSATION_STORE = "services/domain/conversation/conversation-store.ts";
/** A write of conversation rows: through Prisma, or raw SQL on their table. */
export const CONVERSATION_WRITE = new RegExp(
  `\\.conversationSet\\.${WRITE}\\s*\\(|\\b(?:INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+im_conversation_set\\b`,
  "i",
);

/** The rules a file of services/domain breaks, as messages (empty: none). */
export function brokenRules(file: string, source: string): string[] {
  // Comments may name what they explain; only code counts.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const store = file.endsWith("-store.ts");
  const broken: string[] = [];
  if (!store && BUMP.test(code)) broken.push(`${file}: bumps change tokens by hand (a store's job)`);
  if (!store && USER_SCOPE_WRITE.test(code) && !USER_ROW_WRITERS_OUTSIDE_STORES.has(file))
    broken.push(`${file}: writes friendship or user rows outside friendship-store.ts / user-store.ts`);
  if (file !== GROUP_STORE && file !== GROUP_ROWS && GROUP_SCOPE_WRITE.test(code))
    broken.push(`${file}: writes group or member rows outside group-store.ts`);
  if (file !== GROUP_STORE && GROUP_ROWS_IMPORT.test(code))
    broken.push(`${file}: imports group-rows.ts, the row helpers private to group-store.ts`);
  if (file !== CONVERSATION_STORE && CONVERSATION_WRITE.test(code))
    broken.push(`${file}: writes conversation rows outside conversation-store.ts`);
  return broken;
}
