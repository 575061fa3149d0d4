import type { Logger } from "pino";
import { GroupMemberRole } from "../../../gen/ts/whaleshark/v1/enums.js";
import type { Database } from "../../../lib/ports/db.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";

/** `seq_key` prefix of an owner's conversation counter (services/domain/core/sequences.ts). */
const CONVERSATION_SEQ_PREFIX = "seq:conversationSeq:";
/** conversation_id of a group conversation: `1_{member}_{group}` (services/domain/conversation). */
const GROUP_CONVERSATION_PREFIX = `${GROUP}_`;

/** What one {@link moveGroupConversations} call did. */
export interface GroupMoveOutcome {
  /** Marked groups taken (and unmarked): 0 or 1. */
  groups: number;
  /** Conversation rows created, revived or moved. */
  conversations: number;
  /** The group taken, when one was. */
  group?: GroupRef;
}

/** One group of one app. */
export interface GroupRef {
  appId: number;
  groupId: string;
}

/**
 * Moves the group conversations of ONE group the store's batches marked
 * (`im_group_conversation_pending`, written with the messages by
 * message-writer.ts), in one statement, so atomically with the removal of
 * its mark: every current member (role not LEAVE) gets the group's row
 * created when missing, revived when deleted, and a new number from the
 * member's own conversation counter (the same counter and rules as the P2P
 * rows), so the member's next conversation sync lists the group; its unread
 * count is computed at read time (services/domain/conversation/unread-counts.ts).
 * A member who left is not touched: their row stays where it was.
 *
 * One group per statement: each member then takes exactly one number, the
 * counter's new value, so the conversation rows come straight from the
 * counter upsert's RETURNING, with no join between the two (joining them
 * on the computed counter key made the planner loop member × member: 49 s
 * for 10 000 members on PGlite). Counters are taken in key order, as the
 * domain's sequence calls and the batch's P2P rows take them. Marks are
 * claimed with SKIP LOCKED, so several store processes never wait for or
 * move the same mark; a mark a batch adds while its group is being moved
 * waits for that move to commit and is moved by the next call. Moving a
 * group twice only gives its rows newer numbers, so a retried statement is
 * harmless.
 */
export async function moveGroupConversations(
  db: Database,
  skip: readonly GroupRef[] = [],
): Promise<GroupMoveOutcome> {
  // The groups to leave marked this time (paused by the flusher), as one JSON parameter.
  const skipped = JSON.stringify(skip.map((g) => [g.appId, g.groupId]));
  const [row] = await db.$queryRaw<
    {
      groups: bigint | number;
      conversations: bigint | number;
      app_id: number | null;
      group_id: string | null;
    }[]
  >`
    WITH due AS (
      DELETE FROM im_group_conversation_pending p
      WHERE (p.app_id, p.group_id) IN (
        SELECT app_id, group_id FROM im_group_conversation_pending
        WHERE (app_id, group_id) NOT IN (
          SELECT (e->>0)::int, e->>1 FROM jsonb_array_elements(${skipped}::jsonb) e)
        ORDER BY app_id, group_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING p.app_id, p.group_id
    ), bumped AS (
      INSERT INTO im_sequence_high_water (app_id, seq_key, max_value)
      SELECT m.app_id, ${CONVERSATION_SEQ_PREFIX} || m.member_id, 1
      FROM im_group_member m JOIN due d ON m.app_id = d.app_id AND m.group_id = d.group_id
      WHERE m.role <> ${GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE}
      ORDER BY 1, 2
      ON CONFLICT (app_id, seq_key) DO UPDATE
        SET max_value = im_sequence_high_water.max_value + 1, updated_at = now()
      RETURNING app_id, substr(seq_key, ${CONVERSATION_SEQ_PREFIX.length + 1}::int) AS owner_id, max_value
    ), moved AS (
      INSERT INTO im_conversation_set (app_id, conversation_id, conversation_type, from_id, to_id, sequence)
      SELECT b.app_id, ${GROUP_CONVERSATION_PREFIX} || b.owner_id || '_' || d.group_id, ${GROUP}, b.owner_id,
        d.group_id, b.max_value
      FROM bumped b CROSS JOIN due d
      ON CONFLICT (app_id, conversation_id) DO UPDATE SET sequence = EXCLUDED.sequence, del_flag = 0
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM due) AS groups, (SELECT count(*) FROM moved) AS conversations,
      (SELECT app_id FROM due) AS app_id, (SELECT group_id FROM due) AS group_id`;
  const out: GroupMoveOutcome = {
    groups: Number(row?.groups ?? 0),
    conversations: Number(row?.conversations ?? 0),
  };
  if (row?.app_id != null && row.group_id != null) out.group = { appId: row.app_id, groupId: row.group_id };
  return out;
}

/**
 * Most member rows one group moves per second, on average: after a move of `n` rows the group
 * rests `n / MAX_GROUP_ROWS_PER_SECOND` seconds (when that is longer than the flush interval).
 * Without it a group of 10 000 members that talks all the time rewrote 20 000 rows (counter and
 * conversation) every interval, which tripled the embedded store's CPU in the group benchmark; a
 * group of up to 2 000 members still moves every second, one of 10 000 every 5 s. Rows wait,
 * nothing is lost: the mark stays until the group's next move.
 */
export const MAX_GROUP_ROWS_PER_SECOND = 2_000;

/** Options of {@link startGroupConversationFlusher}. */
export interface GroupFlusherOptions {
  db: Database;
  logger: Logger;
  /** `store.groupConversationFlushMs`: the time between two passes, so a group moves at most once per it. */
  intervalMs: number;
  /** Called after each statement that moved something (metrics, tests). */
  onMoved?(outcome: GroupMoveOutcome): void;
  /** Tests: instead of {@link MAX_GROUP_ROWS_PER_SECOND}. */
  maxRowsPerSecond?: number;
}

/** The running flusher. */
export interface GroupFlusher {
  /** Stops the timer and waits for the pass in progress. */
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`, moves the group conversations of every marked group
 * that is not resting (MAX_GROUP_ROWS_PER_SECOND; per store process),
 * one statement per group, until none is left. This
 * runs beside the batches, off the ACK's path (the ACK never waited for the
 * store), and its cost is per group and pass, not per message: a group that
 * gets a thousand messages a second still moves its members' rows once per
 * pass. A failed pass (database away, a deadlock) leaves the marks in place
 * for the next one.
 */
export function startGroupConversationFlusher(opts: GroupFlusherOptions): GroupFlusher {
  const log = opts.logger.child({ component: "group-conversations" });
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  /** Groups resting after a big move (MAX_GROUP_ROWS_PER_SECOND), by `appId:groupId`, until when. */
  const resting = new Map<string, { group: GroupRef; until: number }>();
  const rowsPerMs = (opts.maxRowsPerSecond ?? MAX_GROUP_ROWS_PER_SECOND) / 1000;

  const pass = async (): Promise<void> => {
    try {
      for (;;) {
        const now = Date.now();
        for (const [key, r] of resting) if (r.until <= now) resting.delete(key);
        const out = await moveGroupConversations(
          opts.db,
          [...resting.values()].map((r) => r.group),
        );
        if (out.groups > 0) opts.onMoved?.(out);
        if (out.group !== undefined) {
          const rest = out.conversations / rowsPerMs;
          if (rest > opts.intervalMs) {
            resting.set(`${out.group.appId}:${out.group.groupId}`, {
              group: out.group,
              until: Date.now() + rest,
            });
          }
        }
        if (out.groups === 0 || stopped) return;
      }
    } catch (err) {
      log.warn(
        { error: err instanceof Error ? err.message.split("\n").at(-1) : String(err) },
        "group conversation pass failed; marks kept for the next one",
      );
    }
  };
  const run = (): Promise<void> => {
    running = running.then(pass);
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().then(schedule);
    }, opts.intervalMs);
    timer.unref?.();
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
