import { Counter, type Registry } from "prom-client";

/** Counts of one store consumer, by queue (`p2p` / `group`). Plain numbers, for tests and logs. */
export interface ConsumerCounts {
  /** Messages stored (body and history rows committed). */
  stored: number;
  /** Jobs already stored under the same message_key: acked, nothing written. */
  redelivered: number;
  /** Jobs whose message_id was stored under another key: acked, nothing written, logged. */
  conflicts: number;
  /** Jobs failed as undecodable or incomplete (InvalidJobError). */
  invalid: number;
  /** Jobs failed on a healthy database (the bus retries them, then dead-letters them). */
  rejected: number;
  /** Rows inserted (bodies + history). */
  rows: number;
  /** Batches committed. */
  batches: number;
  /** Batch writes that failed because the database was unreachable (retried, nothing lost). */
  unreachable: number;
  /** Batches split to isolate a bad job. */
  splits: number;
  /** Groups whose members' conversations were moved (group-conversations.ts; queue `group`). */
  groupsMoved: number;
  /** Group conversation rows created, revived or moved by those moves. */
  conversationsMoved: number;
}

/** What the consumer counts. */
export type ConsumerEvent = keyof ConsumerCounts;

const HELP: Record<ConsumerEvent, string> = {
  stored: "Messages stored by the persistence consumer",
  redelivered: "Persistence jobs already stored (redelivered), acked without writing",
  conflicts: "Persistence jobs whose message_id was stored under another message_key",
  invalid: "Persistence jobs failed as undecodable or incomplete",
  rejected: "Persistence jobs failed on a reachable database (retried, then dead-lettered)",
  rows: "Rows inserted by the persistence consumer",
  batches: "Batches committed by the persistence consumer",
  unreachable: "Batch writes failed because the database was unreachable",
  splits: "Batches split to isolate a failing job",
  groupsMoved: "Groups whose members' conversations followed their new messages",
  conversationsMoved: "Group conversation rows created, revived or moved after new messages",
};

/**
 * Every outcome of the persistence consumer is counted (fixes D32: the
 * original logged and forgot). Kept as plain numbers per queue and, when a
 * registry is given, as Prometheus counters `whaleshark_store_<event>_total{queue}`.
 */
export class ConsumerMetrics {
  private readonly counts = new Map<string, ConsumerCounts>();
  private readonly counters: Partial<Record<ConsumerEvent, Counter<"queue">>> = {};

  constructor(registry?: Registry) {
    if (registry === undefined) return;
    for (const event of Object.keys(HELP) as ConsumerEvent[]) {
      this.counters[event] = new Counter({
        name: `whaleshark_store_${event.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
        help: HELP[event],
        labelNames: ["queue"],
        registers: [registry],
      });
    }
  }

  /** Adds `n` to `event` of `queue`. */
  add(queue: string, event: ConsumerEvent, n = 1): void {
    if (n === 0) return;
    this.of(queue)[event] += n;
    this.counters[event]?.inc({ queue }, n);
  }

  /** A copy of the counts of `queue`. */
  snapshot(queue: string): ConsumerCounts {
    return { ...this.of(queue) };
  }

  private of(queue: string): ConsumerCounts {
    let c = this.counts.get(queue);
    if (c === undefined) {
      c = {
        stored: 0,
        redelivered: 0,
        conflicts: 0,
        invalid: 0,
        rejected: 0,
        rows: 0,
        batches: 0,
        unreachable: 0,
        splits: 0,
        groupsMoved: 0,
        conversationsMoved: 0,
      };
      this.counts.set(queue, c);
    }
    return c;
  }
}
