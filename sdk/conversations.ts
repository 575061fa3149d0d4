import type { HttpApi } from "./http-api.js";

/** One conversation of the user, as the server keeps it (model.proto Conversation). */
export interface ConversationEntry {
  conversationId: string;
  /** 0 P2P, 1 GROUP. */
  conversationType: number;
  /** The peer (P2P) or the group id. */
  toId: string;
  /** The conversation's place in the user's conversation sync: higher = moved more recently. */
  sequence: number;
  /** The highest messageSequence the user has read. */
  readSequence: number;
  /** Messages after readSequence, the user's own excluded (counted by the server). */
  unreadCount: number;
  isMute: boolean;
  isTop: boolean;
}

/** Proto-JSON writes int64 as strings and leaves defaults out: read either. */
function num(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : 0;
  return Number.isFinite(n) ? n : 0;
}

interface SyncPage {
  maxSequence?: unknown;
  completed?: boolean;
  dataList?: Record<string, unknown>[];
}

/**
 * The user's conversation list with the server's unread counts, kept current by incremental sync
 * (ConversationService.SyncConversations over the HTTP API): each `sync()` asks only for the
 * conversations that moved past the highest sequence seen, page by page until `completed`. A
 * message moves its conversation (P2P: both sides'), so calling `sync()` after messages or a read
 * receipt brings the new counts. A conversation deleted by the user (delFlag 1) leaves the list.
 */
export class ConversationList {
  readonly #api: HttpApi;
  readonly #pageSize: number;
  readonly #byId = new Map<string, ConversationEntry>();
  #cursor = 0;
  #running: Promise<ConversationEntry[]> | undefined;

  /** `pageSize`: conversations per request, 1..100 (default 100). */
  constructor(api: HttpApi, options: { pageSize?: number; initialCursor?: number } = {}) {
    const size = options.pageSize ?? 100;
    if (!Number.isInteger(size) || size < 1 || size > 100) {
      throw new Error(`ConversationList: pageSize must be an integer from 1 to 100, got ${size}`);
    }
    this.#api = api;
    this.#pageSize = size;
    this.#cursor = options.initialCursor ?? 0;
  }

  /** The highest conversation sequence synced: persist it to resume (`initialCursor`). */
  get cursor(): number {
    return this.#cursor;
  }

  /** The conversations, pinned first, then most recently moved first. */
  list(): ConversationEntry[] {
    return [...this.#byId.values()].sort(
      (a, b) => Number(b.isTop) - Number(a.isTop) || b.sequence - a.sequence,
    );
  }

  get(conversationType: number, toId: string): ConversationEntry | undefined {
    for (const c of this.#byId.values()) {
      if (c.conversationType === conversationType && c.toId === toId) return c;
    }
    return undefined;
  }

  /** Unread messages over every conversation not muted. */
  get totalUnread(): number {
    let n = 0;
    for (const c of this.#byId.values()) if (!c.isMute) n += c.unreadCount;
    return n;
  }

  /**
   * Fetches what changed since the cursor and merges it in; resolves with the entries that
   * changed (deleted ones included, with their last state). Calls made while one runs share it.
   */
  sync(): Promise<ConversationEntry[]> {
    if (this.#running === undefined) {
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #syncOnce(): Promise<ConversationEntry[]> {
    const changed: ConversationEntry[] = [];
    for (;;) {
      const page = await this.#api.call<SyncPage>("ConversationService", "SyncConversations", {
        lastSequence: this.#cursor,
        maxLimit: this.#pageSize,
      });
      const rows = page.dataList ?? [];
      const before = this.#cursor;
      for (const row of rows) {
        const entry: ConversationEntry = {
          conversationId: String(row.conversationId ?? ""),
          conversationType: num(row.conversationType),
          toId: String(row.toId ?? ""),
          sequence: num(row.sequence),
          readSequence: num(row.readSequence),
          unreadCount: num(row.unreadCount),
          isMute: num(row.isMute) === 1,
          isTop: num(row.isTop) === 1,
        };
        if (num(row.delFlag) === 1) this.#byId.delete(entry.conversationId);
        else this.#byId.set(entry.conversationId, entry);
        changed.push(entry);
        this.#cursor = Math.max(this.#cursor, entry.sequence);
      }
      // proto-JSON leaves `completed: false` out; an answer that moved nothing ends it too (never spin).
      if (page.completed === true || rows.length === 0 || this.#cursor === before) return changed;
    }
  }
}
