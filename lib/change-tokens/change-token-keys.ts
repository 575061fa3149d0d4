/**
 * The kv keys of the change tokens, one string per scope (the protocol is in
 * services/domain/cache/change-tokens.ts): a user (their user row and the
 * friendship rows they own) or a group (its row and its member rows). Ids
 * carry their length first, so `a:b` and `a` never share a key.
 *
 * Defined here, in lib, because the domain is not their only reader: the
 * gateway checks a receipt's pair verdict against both users' tokens itself
 * (lib/push/receive-ack.ts), and must read exactly the keys the domain bumps.
 */

/** The change-token key of a user. */
export function userChangeTokenKey(appId: number, userId: string): string {
  return `${appId}:chg:u:${userId.length}:${userId}`;
}

/** The change-token key of a group. */
export function groupChangeTokenKey(appId: number, groupId: string): string {
  return `${appId}:chg:g:${groupId.length}:${groupId}`;
}
