/**
 * The kv records that let a receipt be checked without the database (issue
 * 13): a receive-ACK (1107) or a read receipt (1054 / 2054) is relayed only
 * for a message that exists between the two users, and only while the P2P
 * rules of sends (friendship, blacklist) allow it. Written by the domain
 * (services/domain/messaging/receipts.ts), read by the domain and, for 1107,
 * by the gateway itself (receive-ack.ts), one MGET per receipt, so the
 * common case costs no gRPC call and no query.
 *
 * - The receipt index, one entry per accepted message, written before its
 *   persistence job is published (so before any device can receive it) and
 *   kept {@link RECEIPT_INDEX_TTL_MS}: `{appId}:rcpt:p:{pair}:{sequence}` for
 *   P2P (the pair in a fixed order, either direction), `{appId}:rcpt:g:{group}:{sequence}`
 *   for groups → `[messageKey, fromId]`. Sequences are never reused in a
 *   conversation, so an entry is the only message that can have its
 *   sequence; a missing entry means "older than the TTL, or kv lost it": the
 *   domain then asks the database.
 * - The pair verdict, `{appId}:rcpt:v:{pair}` → `[tokenA, tokenB, ok]`: the
 *   domain's last answer to "may these two exchange receipts" with the
 *   change tokens of both users it was computed under (read BEFORE the rows,
 *   the protocol of services/domain/cache/change-tokens.ts). It counts only
 *   while both tokens are unchanged: every write to a user's row or the
 *   friendship rows they own (a block, an unfriending, a deletion) bumps the
 *   token, so the next receipt asks the domain again.
 */

/** How long the receipt index keeps an entry (the store writes the message long before). */
export const RECEIPT_INDEX_TTL_MS = 120_000;

/** How long an unused pair verdict stays in kv (its tokens, not its age, decide whether it counts). */
export const RECEIPT_VERDICT_TTL_MS = 3_600_000;

/** Two user ids in a fixed order, length-prefixed so no two pairs share a name. */
function pairOf(a: string, b: string): string {
  const [x, y] = a <= b ? [a, b] : [b, a];
  return `${x.length}:${x}:${y}`;
}

/** The index key of the P2P message with `sequence` between `a` and `b` (either order). */
export function p2pReceiptKey(appId: number, a: string, b: string, sequence: number): string {
  return `${appId}:rcpt:p:${pairOf(a, b)}:${sequence}`;
}

/** The index key of the group message with `sequence`. */
export function groupReceiptKey(appId: number, groupId: string, sequence: number): string {
  return `${appId}:rcpt:g:${groupId.length}:${groupId}:${sequence}`;
}

/** What the index holds of one message. */
export interface ReceiptEntry {
  messageKey: number;
  fromId: string;
}

export function encodeReceiptEntry(entry: ReceiptEntry): string {
  return JSON.stringify([entry.messageKey, entry.fromId]);
}

/** An index value, or undefined for none (or one that does not parse). */
export function decodeReceiptEntry(value: string | null | undefined): ReceiptEntry | undefined {
  const parsed = parseArray(value);
  if (parsed === undefined || parsed.length !== 2) return undefined;
  const [messageKey, fromId] = parsed;
  if (typeof messageKey !== "number" || typeof fromId !== "string") return undefined;
  return { messageKey, fromId };
}

/** The verdict key of two users (either order). */
export function pairVerdictKey(appId: number, a: string, b: string): string {
  return `${appId}:rcpt:v:${pairOf(a, b)}`;
}

/** The two users of a pair in verdict order (the order of the tokens in a verdict). */
export function verdictOrder(a: string, b: string): [string, string] {
  return a <= b ? [a, b] : [b, a];
}

/** A pair verdict: the tokens of both users (in {@link verdictOrder}) and the answer. */
export interface PairVerdict {
  tokens: [string, string];
  ok: boolean;
}

export function encodeVerdict(verdict: PairVerdict): string {
  return JSON.stringify([verdict.tokens[0], verdict.tokens[1], verdict.ok]);
}

/** A verdict value, or undefined for none (or one that does not parse). */
export function decodeVerdict(value: string | null | undefined): PairVerdict | undefined {
  const parsed = parseArray(value);
  if (parsed === undefined || parsed.length !== 3) return undefined;
  const [a, b, ok] = parsed;
  if (typeof a !== "string" || typeof b !== "string" || typeof ok !== "boolean") return undefined;
  return { tokens: [a, b], ok };
}

function parseArray(value: string | null | undefined): unknown[] | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined; // only we write these keys; a bad value counts as none
  }
}
