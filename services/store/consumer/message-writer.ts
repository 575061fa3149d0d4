import type { Database } from "../../../lib/ports/db.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import type { StoredMessage } from "./jobs.js";

/** What one {@link writeMessages} call did. */
export interface WriteOutcome {
  /** Messages stored by this call. */
  stored: number;
  /** Messages already stored under the same message_key (redeliveries, copies within the batch). */
  redelivered: number;
  /**
   * Messages whose (app_id, from_id, message_id) was already stored under
   * another message_key: not stored, the first message wins (store_job.proto).
   */
  conflicts: StoredMessage[];
  /** Rows inserted (bodies and history). */
  rows: number;
}

/** `seq_key` prefix of an owner's conversation counter (services/domain/core/sequences.ts). */
const CONVERSATION_SEQ_PREFIX = "seq:conversationSeq:";
/** conversation_id of a P2P conversation: `0_{owner}_{peer}` (services/domain/conversation). */
const P2P_CONVERSATION_PREFIX = `${P2P}_`;

/**
 * Stores a batch of messages in ONE SQL statement, so atomically (spec §5.9):
 * - every sender's idempotency id once (`im_message_id`, primary key
 *   (app_id, from_id, message_id), ON CONFLICT DO NOTHING): a message whose
 *   id is already taken, by this key (a redelivery) or by another (a resend
 *   accepted twice), goes no further;
 * - the body of every message whose id this statement took (`im_message_body`,
 *   ON CONFLICT DO NOTHING on its key). The id lives in its own table because
 *   the body table is partitioned by message_key, and a partitioned table
 *   can only enforce unique keys that hold it (docs/message-tables.md);
 * - for the bodies this statement inserted: P2P → one history row per owner,
 *   the sender's and the receiver's (write diffusion; one row when they are
 *   the same user); GROUP → one group history row (read diffusion).
 * - for the P2P bodies it inserted: each side's conversation follows the
 *   message (issue 16, D11: claimed by the original, done nowhere): the row
 *   is created when missing, revived when its owner deleted it, and takes a
 *   new number from its owner's conversation counter, so the owner's next
 *   conversation sync (by sequence) lists it, with its unread count
 *   (computed at read time). One number per conversation and batch however
 *   many of its messages the batch holds; the counter rows are taken in key
 *   order, as the domain's own sequence calls take them. Group conversations
 *   do not move in this statement (that would write a row per member for
 *   every message): the statement marks each group it stored a message of
 *   (`im_group_conversation_pending`, one row per group however many
 *   messages), and the store's flusher (group-conversations.ts) moves the
 *   members' rows at most once per `store.groupConversationFlushMs`.
 * Idempotent: an id that already exists was committed together with its body, history and
 * conversation rows, so a redelivered job writes nothing at all. The caller acks only after
 * this resolves. (Once retention has deleted a message, its id goes too, and a job replayed
 * after that stores it again.)
 *
 * Why raw SQL: the rows travel as one array per column (`unnest`), eleven
 * parameters whatever the batch size, and the three inserts share one round
 * trip. Prisma's createMany of the same rows measured 6–8× slower (its
 * client-side query building dominates). The drift check and the db
 * contract keep these column names honest.
 */
export async function writeMessages(db: Database, messages: StoredMessage[]): Promise<WriteOutcome> {
  const unique = [...new Map(messages.map((m) => [m.messageKey, m])).values()];
  const b = columns(unique);
  const p2p = unique.filter((m) => m.conversationType === P2P).flatMap(historyRows);
  const h = {
    appIds: p2p.map((r) => r.m.appId),
    owners: p2p.map((r) => r.owner),
    peers: p2p.map((r) => r.peer),
    froms: p2p.map((r) => r.m.fromId),
    tos: p2p.map((r) => r.m.toId),
    keys: p2p.map((r) => r.m.messageKey),
    seqs: p2p.map((r) => r.m.sequence),
    times: p2p.map((r) => r.m.messageTime),
    created: p2p.map((r) => r.m.acceptedTime),
  };
  const g = columns(unique.filter((m) => m.conversationType === GROUP));
  const inserted = await db.$queryRaw<{ message_key: bigint }[]>`
    WITH claimed AS (
      INSERT INTO im_message_id (app_id, from_id, message_id, message_key)
      SELECT * FROM unnest(${b.appIds}::int[], ${b.froms}::text[], ${b.ids}::text[], ${b.keys}::bigint[])
      ON CONFLICT DO NOTHING
      RETURNING message_key
    ), body AS (
      INSERT INTO im_message_body (message_key, app_id, conversation_type, from_id, to_id, message_id,
        message_sequence, message_body, message_time, create_time, extra)
      SELECT * FROM unnest(${b.keys}::bigint[], ${b.appIds}::int[], ${b.types}::int[], ${b.froms}::text[],
        ${b.tos}::text[], ${b.ids}::text[], ${b.seqs}::bigint[], ${b.bodies}::text[], ${b.times}::bigint[],
        ${b.created}::bigint[], ${b.extras}::text[])
        AS r(message_key, app_id, conversation_type, from_id, to_id, message_id, message_sequence, message_body,
          message_time, create_time, extra)
      WHERE r.message_key IN (SELECT message_key FROM claimed)
      ON CONFLICT DO NOTHING
      RETURNING message_key
    ), history AS (
      INSERT INTO im_message_history (app_id, owner_id, peer_id, from_id, to_id, message_key, sequence,
        message_time, create_time)
      SELECT * FROM unnest(${h.appIds}::int[], ${h.owners}::text[], ${h.peers}::text[], ${h.froms}::text[],
        ${h.tos}::text[], ${h.keys}::bigint[], ${h.seqs}::bigint[], ${h.times}::bigint[], ${h.created}::bigint[])
        AS r(app_id, owner_id, peer_id, from_id, to_id, message_key, sequence, message_time, create_time)
      WHERE r.message_key IN (SELECT message_key FROM body)
      ON CONFLICT DO NOTHING
    ), group_history AS (
      INSERT INTO im_group_message_history (app_id, group_id, message_key, from_id, sequence, message_time,
        create_time)
      SELECT * FROM unnest(${g.appIds}::int[], ${g.tos}::text[], ${g.keys}::bigint[], ${g.froms}::text[],
        ${g.seqs}::bigint[], ${g.times}::bigint[], ${g.created}::bigint[])
        AS r(app_id, group_id, message_key, from_id, sequence, message_time, create_time)
      WHERE r.message_key IN (SELECT message_key FROM body)
      ON CONFLICT DO NOTHING
    ), touched AS (
      SELECT DISTINCT r.app_id, r.owner_id, r.peer_id
      FROM unnest(${h.appIds}::int[], ${h.owners}::text[], ${h.peers}::text[], ${h.keys}::bigint[])
        AS r(app_id, owner_id, peer_id, message_key)
      WHERE r.message_key IN (SELECT message_key FROM body)
    ), bumped AS (
      INSERT INTO im_sequence_high_water (app_id, seq_key, max_value)
      SELECT app_id, ${CONVERSATION_SEQ_PREFIX} || owner_id, count(*) FROM touched
      GROUP BY app_id, owner_id ORDER BY 1, 2
      ON CONFLICT (app_id, seq_key) DO UPDATE
        SET max_value = im_sequence_high_water.max_value + EXCLUDED.max_value, updated_at = now()
      RETURNING app_id, seq_key, max_value
    ), conversations AS (
      INSERT INTO im_conversation_set (app_id, conversation_id, conversation_type, from_id, to_id, sequence)
      SELECT t.app_id, ${P2P_CONVERSATION_PREFIX} || t.owner_id || '_' || t.peer_id, ${P2P}, t.owner_id, t.peer_id,
        b.max_value + 1 - row_number() OVER (PARTITION BY t.app_id, t.owner_id ORDER BY t.peer_id DESC)
      FROM touched t JOIN bumped b ON b.app_id = t.app_id AND b.seq_key = ${CONVERSATION_SEQ_PREFIX} || t.owner_id
      ON CONFLICT (app_id, conversation_id) DO UPDATE SET sequence = EXCLUDED.sequence, del_flag = 0
    ), group_marks AS (
      INSERT INTO im_group_conversation_pending (app_id, group_id)
      SELECT DISTINCT r.app_id, r.group_id
      FROM unnest(${g.appIds}::int[], ${g.tos}::text[], ${g.keys}::bigint[]) AS r(app_id, group_id, message_key)
      WHERE r.message_key IN (SELECT message_key FROM body)
      ORDER BY 1, 2
      ON CONFLICT DO NOTHING
    )
    SELECT message_key FROM body`;
  const fresh = new Set(inserted.map((r) => BigInt(r.message_key)));
  const stored = unique.filter((m) => fresh.has(m.messageKey));
  const rows = stored.reduce((n, m) => n + 1 + (m.conversationType === GROUP ? 1 : historyRows(m).length), 0);
  return {
    stored: stored.length,
    ...(await skippedOutcome(db, unique, fresh, messages.length - stored.length)),
    rows,
  };
}

/** Splits the skipped messages into redeliveries (key stored) and message_id conflicts (key absent). */
async function skippedOutcome(
  db: Database,
  unique: StoredMessage[],
  fresh: Set<bigint>,
  skippedTotal: number,
): Promise<{ redelivered: number; conflicts: StoredMessage[] }> {
  const skipped = unique.filter((m) => !fresh.has(m.messageKey));
  if (skipped.length === 0) return { redelivered: skippedTotal, conflicts: [] };
  const existing = await db.messageBody.findMany({
    where: { messageKey: { in: skipped.map((m) => m.messageKey) } },
    select: { messageKey: true },
  });
  const known = new Set(existing.map((r) => r.messageKey));
  const conflicts = skipped.filter((m) => !known.has(m.messageKey));
  return { redelivered: skippedTotal - conflicts.length, conflicts };
}

/** One array per body column. */
function columns(ms: StoredMessage[]) {
  return {
    keys: ms.map((m) => m.messageKey),
    appIds: ms.map((m) => m.appId),
    types: ms.map((m) => m.conversationType),
    froms: ms.map((m) => m.fromId),
    tos: ms.map((m) => m.toId),
    ids: ms.map((m) => m.messageId),
    seqs: ms.map((m) => m.sequence),
    bodies: ms.map((m) => m.body),
    times: ms.map((m) => m.messageTime),
    created: ms.map((m) => m.acceptedTime),
    extras: ms.map((m) => (m.extra === "" ? null : m.extra)),
  };
}

/** The sender's and the receiver's row; each sees the other as peer (D16). */
function historyRows(m: StoredMessage): Array<{ m: StoredMessage; owner: string; peer: string }> {
  if (m.fromId === m.toId) return [{ m, owner: m.fromId, peer: m.toId }];
  return [
    { m, owner: m.fromId, peer: m.toId },
    { m, owner: m.toId, peer: m.fromId },
  ];
}
