import type { GroupChatMessageContent, MessageContent } from "../gen/ts/whaleshark/v1/message.js";
import type { SyncedMessage } from "../gen/ts/whaleshark/v1/sync.js";
import { GROUP } from "../lib/wire/conversation-type.js";
import { ConversationOrder } from "./conversation-order.js";
import type { ChatMessage } from "./events.js";
import { LruSet } from "./lru-set.js";

/** A message on its way to the application, with its place in its conversation. */
export interface InboxItem {
  conversation: string;
  sequence: number;
  key: number;
  /** The event to emit; undefined for a message this device sent itself (it has it already). */
  event?: ChatMessage;
}

/** What an {@link Inbox} needs from its client. */
export interface InboxOptions {
  userId: string;
  /** How many messageKeys are remembered to drop duplicates. */
  dedupeCapacity: number;
  /** The messageKey to start the sync cursor at (0: everything the user may see). */
  initialCursor: number;
  /**
   * True when this device's history is complete from the beginning (it syncs, from cursor 0):
   * every conversation then starts at position 0, and a first message above sequence 1 waits for
   * the ones before it (ConversationOrder `start`).
   */
  fromStart: boolean;
  /** True for a messageId this device sent and still waits to be ACKed. */
  isPendingSend(messageId: string): boolean;
  emit(message: ChatMessage): void;
  /** A conversation now holds messages behind a missing sequence. */
  onGap(conversation: string): void;
}

/** The conversation of a message as this user sees it: `p2p:{peer}` or `group:{groupId}`. */
export function conversationOf(
  userId: string,
  m: { fromId: string; toId: string; groupId?: string },
): string {
  if (m.groupId !== undefined && m.groupId !== "") return `group:${m.groupId}`;
  return `p2p:${m.fromId === userId ? m.toId : m.fromId}`;
}

/** A message from a sync page as the event a push of it would have given (spec §5.3, §5.4). */
export function syncedEvent(userId: string, m: SyncedMessage): ChatMessage {
  const common = {
    appId: m.appId,
    clientType: 0,
    extra: m.extra,
    fromId: m.fromId,
    imei: "",
    messageBody: m.messageBody,
    messageId: m.messageId,
    messageKey: m.messageKey,
    messageSequence: m.messageSequence,
    messageTime: m.messageTime,
  };
  const origin = { fromSelf: m.fromId === userId, synced: true, recalled: m.recalled, late: false };
  if (m.conversationType === GROUP) {
    const message: GroupChatMessageContent = { ...common, groupId: m.groupId, memberIds: [], toId: "" };
    return { kind: "group", command: 2104, message, ...origin };
  }
  const message: MessageContent = { ...common, toId: m.toId };
  return { kind: "p2p", command: 1103, message, ...origin };
}

/** The inbox item of a chat event. */
export function itemOf(userId: string, event: ChatMessage): InboxItem {
  const m = event.message;
  const groupId = event.kind === "group" ? event.message.groupId : undefined;
  return {
    conversation: conversationOf(userId, { fromId: m.fromId, toId: m.toId, groupId }),
    sequence: m.messageSequence,
    key: m.messageKey,
    event,
  };
}

/**
 * Where received chat messages meet before the application sees them: live pushes, sync pages
 * and this device's own ACKed sends. Each messageKey is let through once (bounded memory), each
 * conversation in sequence order (ConversationOrder, gaps reported to the sync), and while a
 * catch-up runs live pushes wait behind it ({@link hold} / {@link release}), so a conversation's
 * missed messages come before the new ones. The cursor is the highest messageKey let through.
 */
export class Inbox {
  readonly #o: InboxOptions;
  readonly #seen: LruSet<number>;
  readonly #order: ConversationOrder<InboxItem>;
  #buffer: InboxItem[] | undefined;
  #cursor: number;

  constructor(options: InboxOptions) {
    this.#o = options;
    this.#seen = new LruSet(options.dedupeCapacity);
    this.#cursor = options.initialCursor;
    this.#order = new ConversationOrder(
      (item, late) => {
        if (item.key > this.#cursor) this.#cursor = item.key;
        if (item.event !== undefined) this.#o.emit(late ? { ...item.event, late: true } : item.event);
      },
      undefined,
      options.fromStart ? 0 : undefined,
    );
  }

  /** The highest messageKey delivered (or sent) so far, or the initial cursor. */
  get cursor(): number {
    return this.#cursor;
  }

  /** A pushed message (1103 / 2104). False when it was a duplicate. */
  push(event: ChatMessage): boolean {
    const item = itemOf(this.#o.userId, event);
    if (item.key !== 0 && !this.#seen.add(item.key)) return false;
    if (this.#buffer !== undefined) this.#buffer.push(item);
    else this.#offer(item);
    return true;
  }

  /** The messages of a sync page, in the page's order. Returns how many were new. */
  synced(messages: SyncedMessage[]): number {
    let fresh = 0;
    for (const m of messages) {
      if (!this.#seen.add(m.messageKey)) continue;
      const event = syncedEvent(this.#o.userId, m);
      const item = itemOf(this.#o.userId, event);
      // This device's own send, stored before its ACK arrived: the app learns of it by the ACK.
      if (event.fromSelf && this.#o.isPendingSend(m.messageId)) delete item.event;
      else fresh++;
      this.#offer(item);
    }
    return fresh;
  }

  /** This device's own send, ACKed: counted in its conversation and never emitted. */
  own(conversation: string, sequence: number, key: number): void {
    if (key === 0 || !this.#seen.add(key)) return;
    this.#offer({ conversation, sequence, key });
  }

  /** Live pushes wait from now until {@link release} (a catch-up is running). */
  hold(): void {
    this.#buffer ??= [];
  }

  /** Lets the pushes that waited through, in arrival order. */
  release(): void {
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const item of buffered) this.#offer(item);
  }

  /** The last sequence let through in `conversation`. */
  last(conversation: string): number | undefined {
    return this.#order.last(conversation);
  }

  hasGap(conversation: string): boolean {
    return this.#order.hasGap(conversation);
  }

  gaps(): string[] {
    return this.#order.gaps();
  }

  /** Sequences up to `sequence` of `conversation` will never be available to this user. */
  advance(conversation: string, sequence: number): void {
    this.#order.advance(conversation, sequence);
  }

  /** Stops waiting for `conversation`'s missing messages. */
  skip(conversation: string): void {
    this.#order.skip(conversation);
  }

  /** Lets everything through (the client is closing): waiting pushes, then held messages. */
  flush(): void {
    this.release();
    this.#order.skipAll();
  }

  #offer(item: InboxItem): void {
    if (this.#order.offer(item) === "held") this.#o.onGap(item.conversation);
  }
}
