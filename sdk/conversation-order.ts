/** Something that has a place in one conversation's sequence. */
export interface Sequenced {
  /** The conversation, e.g. `p2p:bob` or `group:g1` (see conversationOf). */
  readonly conversation: string;
  /**
   * Its messageSequence: per pair (P2P) or per group, strictly increasing (docs/architecture.md §4 "Order").
   */
  readonly sequence: number;
}

/**
 * Releases each conversation's messages in messageSequence order (docs/architecture.md §4: order per
 * conversation; gaps allowed, clients fill or skip them through sync).
 *
 * Contract, per conversation:
 * - its position starts at `start`: 0 when the device's history is complete from the beginning
 *   (it caught up from messageKey 0), so a first item with a sequence above 1 is held behind a
 *   gap like any other; undefined when the device cannot know what came before (it resumed from a
 *   saved cursor and remembers no positions), and then the first item ever offered is released at
 *   once and sets the position;
 * - an item at the next sequence is released at once, followed by every held item that has
 *   become next;
 * - an item at a sequence already passed (one whose gap was given up on or advanced past: e.g. a
 *   message its domain published only after its holder died, docs/architecture.md §4; the caller
 *   de-duplicated copies by messageKey already) is released at once flagged `late`: it can no
 *   longer come in order, so the application is told to put it in its place instead of below the
 *   newer ones.
 *   Nothing is ever released unflagged below a sequence already released;
 * - an item further ahead is held: the caller is told the conversation has a gap, fetches the
 *   missing messages (offering them here) and, when they cannot be found (a sequence the server
 *   never used, e.g. after a sequence store restart), calls {@link skip}.
 * At most `maxHeld` items are held per conversation; past that the gap is skipped, so memory
 * stays bounded whatever the server sends. When the server shows that sequences below some point
 * will never be available to this user (a group member sees history from their join point only;
 * sequences jump after a sequence store loss), {@link advance} moves the position past them.
 */
export class ConversationOrder<T extends Sequenced> {
  readonly #last = new Map<string, number>();
  readonly #held = new Map<string, Map<number, T>>();

  constructor(
    /**
     * Receives each item once, in order per conversation; `late` for an item below the position
     * (see the class).
     */
    private readonly release: (item: T, late: boolean) => void,
    private readonly maxHeld = 1_000,
    /** The position of a conversation before its first item: 0, or undefined when unknown. */
    private readonly start: 0 | undefined = undefined,
  ) {}

  /**
   * Offers one item; `held` when it waits behind a gap of its conversation, `late` when it was
   * released flagged late (its sequence was passed already).
   */
  offer(item: T): "released" | "held" | "late" {
    const last = this.last(item.conversation);
    if (last !== undefined && item.sequence <= last) {
      this.release(item, true);
      return "late";
    }
    if (last === undefined || item.sequence === last + 1) {
      this.#release(item);
      this.#drain(item.conversation);
      return "released";
    }
    let held = this.#held.get(item.conversation);
    if (held === undefined) {
      held = new Map();
      this.#held.set(item.conversation, held);
    }
    held.set(item.sequence, item);
    if (held.size > this.maxHeld) this.skip(item.conversation);
    return "held";
  }

  /**
   * The position of `conversation`: the last sequence released (or advanced past); before its
   * first item `start` (undefined when unknown).
   */
  last(conversation: string): number | undefined {
    return this.#last.get(conversation) ?? this.start;
  }

  /**
   * Sequences up to `sequence` of `conversation` will never be available: the position moves
   * there (never back) and the held items that have become next are released, in order. Gaps
   * above it stay.
   */
  advance(conversation: string, sequence: number): void {
    const last = this.last(conversation);
    if (last === undefined || sequence > last) this.#last.set(conversation, sequence);
    // Held items the position moved past can no longer come in order: late, in their order.
    const held = this.#held.get(conversation);
    if (held !== undefined) {
      const passed = [...held.values()].filter((i) => i.sequence <= sequence);
      for (const item of passed.sort((a, b) => a.sequence - b.sequence)) {
        held.delete(item.sequence);
        this.release(item, true);
      }
      if (held.size === 0) this.#held.delete(conversation);
    }
    this.#drain(conversation);
  }

  /** True when `conversation` holds items behind a missing sequence. */
  hasGap(conversation: string): boolean {
    return (this.#held.get(conversation)?.size ?? 0) > 0;
  }

  /** Conversations that hold items behind a missing sequence. */
  gaps(): string[] {
    return [...this.#held.keys()];
  }

  /** Gives up on the missing sequences of `conversation`: releases what it holds, in order. */
  skip(conversation: string): void {
    const held = this.#held.get(conversation);
    if (held === undefined) return;
    this.#held.delete(conversation);
    for (const item of [...held.values()].sort((a, b) => a.sequence - b.sequence)) this.#release(item);
  }

  /** Releases everything held in every conversation (the client is closing). */
  skipAll(): void {
    for (const conversation of this.gaps()) this.skip(conversation);
  }

  #release(item: T): void {
    const last = this.#last.get(item.conversation);
    if (last === undefined || item.sequence > last) this.#last.set(item.conversation, item.sequence);
    this.release(item, false);
  }

  #drain(conversation: string): void {
    const held = this.#held.get(conversation);
    if (held === undefined) return;
    for (let next = (this.last(conversation) ?? 0) + 1; held.has(next); next++) {
      const item = held.get(next) as T;
      held.delete(next);
      this.#release(item);
    }
    if (held.size === 0) this.#held.delete(conversation);
  }
}
