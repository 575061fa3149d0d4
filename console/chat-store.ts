/**
 * What the console shows of each conversation: the messages and, for the user's own, how far each
 * got (sending → sent = ACKed → delivered = the peer's device acknowledged it → read = a read
 * receipt covers it). Pure (no DOM, no SDK), so it is unit-tested on its own.
 */

/** The state of one of the user's own messages; others' messages are "received". */
export type MessageState = "sending" | "sent" | "delivered" | "read" | "failed" | "received";

/** How far each state is along; a late receipt never moves a message backwards. */
const RANK: Record<MessageState, number> = {
  failed: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  received: 0,
};

export interface ChatItem {
  /** The client messageId (own sends) or the messageKey as text (what arrived before an id). */
  messageId: string;
  messageKey: number;
  messageSequence: number;
  messageTime: number;
  fromId: string;
  body: string;
  own: boolean;
  state: MessageState;
  recalled: boolean;
  /** Why a send failed (the server's code and text). */
  error?: string;
}

/** `p2p:<peer>` or `group:<groupId>`. */
export type ConversationKey = `p2p:${string}` | `group:${string}`;

export function p2pKey(peer: string): ConversationKey {
  return `p2p:${peer}`;
}

export function groupKey(groupId: string): ConversationKey {
  return `group:${groupId}`;
}

/** The conversation type and target of a key (0 P2P, 1 GROUP). */
export function parseKey(key: ConversationKey): { type: 0 | 1; toId: string } {
  return key.startsWith("p2p:") ? { type: 0, toId: key.slice(4) } : { type: 1, toId: key.slice(6) };
}

export interface Arrival {
  messageId: string;
  messageKey: number;
  messageSequence: number;
  messageTime: number;
  fromId: string;
  body: string;
  recalled: boolean;
}

export class ChatStore {
  readonly #byConversation = new Map<ConversationKey, ChatItem[]>();
  /** Where each message lives, by messageId and by messageKey. */
  readonly #byId = new Map<string, { key: ConversationKey; item: ChatItem }>();
  readonly #byMessageKey = new Map<number, { key: ConversationKey; item: ChatItem }>();
  readonly #me: string;

  constructor(me: string) {
    this.#me = me;
  }

  conversations(): ConversationKey[] {
    return [...this.#byConversation.keys()];
  }

  /** The messages of a conversation in sequence order; sends not ACKed yet last, in send order. */
  list(key: ConversationKey): readonly ChatItem[] {
    return this.#byConversation.get(key) ?? [];
  }

  last(key: ConversationKey): ChatItem | undefined {
    const items = this.list(key);
    return items[items.length - 1];
  }

  byKey(messageKey: number): ChatItem | undefined {
    return this.#byMessageKey.get(messageKey)?.item;
  }

  /** A send just made: shown at once as "sending". */
  sending(key: ConversationKey, messageId: string, body: string, time: number): ChatItem {
    const item: ChatItem = {
      messageId,
      messageKey: 0,
      messageSequence: 0,
      messageTime: time,
      fromId: this.#me,
      body,
      own: true,
      state: "sending",
      recalled: false,
    };
    this.#insert(key, item);
    return item;
  }

  /** The send's ACK: it has its key and sequence now, and takes its place. */
  acked(messageId: string, messageKey: number, messageSequence: number): void {
    const at = this.#byId.get(messageId);
    if (at === undefined) return;
    at.item.messageKey = messageKey;
    at.item.messageSequence = messageSequence;
    this.#advance(at.item, "sent");
    this.#byMessageKey.set(messageKey, at);
    this.#sort(at.key);
  }

  failed(messageId: string, error: string): void {
    const at = this.#byId.get(messageId);
    if (at === undefined || at.item.state !== "sending") return;
    at.item.state = "failed";
    at.item.error = error;
  }

  /**
   * A message pushed or synced (this user's own from another device too). Known ones (by
   * messageId or messageKey) are merged, never shown twice. Returns the item, and whether it is new.
   */
  received(key: ConversationKey, m: Arrival): { item: ChatItem; added: boolean } {
    const known = this.#byId.get(m.messageId) ?? this.#byMessageKey.get(m.messageKey);
    if (known !== undefined) {
      const item = known.item;
      if (item.messageKey === 0) {
        item.messageKey = m.messageKey;
        item.messageSequence = m.messageSequence;
        this.#byMessageKey.set(m.messageKey, known);
        this.#advance(item, "sent");
        this.#sort(known.key);
      }
      if (m.recalled) this.#recall(item);
      return { item, added: false };
    }
    const own = m.fromId === this.#me;
    const item: ChatItem = {
      ...m,
      body: m.recalled ? "" : m.body,
      own,
      state: own ? "sent" : "received",
    };
    this.#insert(key, item);
    return { item, added: true };
  }

  /** A delivery receipt (1107) for one of the user's messages. */
  delivered(messageKey: number): ChatItem | undefined {
    const item = this.#byMessageKey.get(messageKey)?.item;
    if (item?.own === true) this.#advance(item, "delivered");
    return item;
  }

  /** A read receipt: the peer read the conversation up to `sequence`. Returns what changed. */
  readUpTo(key: ConversationKey, sequence: number): ChatItem[] {
    const changed: ChatItem[] = [];
    for (const item of this.list(key)) {
      if (item.own && item.messageSequence > 0 && item.messageSequence <= sequence && item.state !== "read") {
        this.#advance(item, "read");
        changed.push(item);
      }
    }
    return changed;
  }

  /** A recall notice (1052) or a recall this user made: the body goes. */
  recalled(messageKey: number): ChatItem | undefined {
    const item = this.#byMessageKey.get(messageKey)?.item;
    if (item !== undefined) this.#recall(item);
    return item;
  }

  /** The highest sequence of others' messages in a conversation (what to mark read). */
  lastIncomingSequence(key: ConversationKey): { sequence: number; fromId: string } | undefined {
    const items = this.list(key);
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      if (item !== undefined && !item.own && item.messageSequence > 0) {
        return { sequence: item.messageSequence, fromId: item.fromId };
      }
    }
    return undefined;
  }

  #recall(item: ChatItem): void {
    item.recalled = true;
    item.body = "";
  }

  #advance(item: ChatItem, state: MessageState): void {
    if (RANK[state] > RANK[item.state]) item.state = state;
  }

  #insert(key: ConversationKey, item: ChatItem): void {
    const items = this.#byConversation.get(key) ?? [];
    this.#byConversation.set(key, items);
    items.push(item);
    const at = { key, item };
    this.#byId.set(item.messageId, at);
    if (item.messageKey !== 0) this.#byMessageKey.set(item.messageKey, at);
    this.#sort(key);
  }

  #sort(key: ConversationKey): void {
    const items = this.#byConversation.get(key);
    if (items === undefined) return;
    // Stable: sends without a sequence yet keep their order, after every sequenced message.
    items.sort(
      (a, b) =>
        (a.messageSequence || Number.MAX_SAFE_INTEGER) - (b.messageSequence || Number.MAX_SAFE_INTEGER),
    );
  }
}
