import { Command } from "../gen/ts/whaleshark/v1/command.js";
import type { ResponseVo } from "../gen/ts/whaleshark/v1/envelope.js";
import type {
  SyncConversationAckPack,
  SyncedMessage,
  SyncMessagesAckPack,
} from "../gen/ts/whaleshark/v1/sync.js";
import { GROUP, P2P } from "../lib/wire/conversation-type.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { ClientError } from "./client-error.js";
import { conversationOf, type Inbox } from "./inbox.js";

/** How the client catches up (sync.proto commands 9007 / 9009). */
export interface SyncPolicy {
  /** Messages per page, at most 100 (default 100). */
  pageSize: number;
  /**
   * How far before the cursor each catch-up starts, in ms of messageKey time (default 5 000).
   * messageKeys carry their second (spec §5.10); re-reading a few seconds finds a message that was
   * stored after a later one (the store writes P2P and group messages in separate batches) and a
   * push lost with the connection. What was delivered already is dropped by messageKey.
   */
  overlapMs: number;
  /** A second catch-up this long after the one that follows a login, for late writes (default 1 000; 0: none). */
  settleMs: number;
  /** How long to wait for an answer (default 10 000). */
  requestTimeoutMs: number;
  /** When a catch-up is refused for another reason: 1 s doubling to 30 s, ±20 %, until it works. */
  retry: BackoffPolicy;
  /**
   * When a catch-up fails because the server is overloaded or down (9006 with 71000 or 90000, or
   * no answer in `requestTimeoutMs`): 2 s doubling to 30 s, fully jittered (anywhere from 0 to
   * twice that), until it works. A login storm makes thousands of devices fail together; the
   * wide, even spread turns their retries into a steady trickle the store can serve, where ±20 %
   * brought them back as a second storm (bench/RESULTS.md finding 3). Never given up.
   */
  busyRetry: BackoffPolicy;
  /** Fetches of a conversation's missing sequence before giving up on it (default 4). */
  gapAttempts: number;
  /** Wait before fetching a missing sequence again, doubling each time (default 250). */
  gapRetryMs: number;
}

/** Default catch-up policy. */
export const SYNC_DEFAULTS: SyncPolicy = {
  pageSize: 100,
  overlapMs: 5_000,
  settleMs: 1_000,
  requestTimeoutMs: 10_000,
  retry: { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 },
  busyRetry: { initialMs: 2_000, maxMs: 30_000, factor: 2, jitter: 1 },
  gapAttempts: 4,
  gapRetryMs: 250,
};

/** Refusals that mean "the server cannot serve this now" rather than "not like this": 71000, 90000. */
const BUSY_CODES: ReadonlySet<number> = new Set([71_000, 90_000]);

/** Whether a failed catch-up is the server's overload (or outage): a timeout or a busy code. */
export function isBusyFailure(error: ClientError): boolean {
  return error.reason === "sync-timeout" || (error.code !== undefined && BUSY_CODES.has(error.code));
}

/** messageKeys per second: the key is `seconds << 21 | worker << 16 | counter` (spec §5.10). */
const KEYS_PER_SECOND = 2 ** 21;

/** What the sync needs from its client. */
export interface SyncIo {
  /** Writes a request frame; false when offline. */
  write(command: number, data: object): boolean;
  synced(event: { cursor: number; messages: number }): void;
  error(error: Error): void;
  random(): number;
}

type Job = { kind: "device"; after: number } | { kind: "fill"; conversation: string };
type Sent = { kind: "device"; after: number } | { kind: "fill"; conversation: string; after: number };

/** The request fields naming a conversation key of conversationOf (`p2p:{peer}` / `group:{id}`). */
function targetOf(conversation: string): { conversationType: number; toId: string } {
  const colon = conversation.indexOf(":");
  return {
    conversationType: conversation.slice(0, colon) === "group" ? GROUP : P2P,
    toId: conversation.slice(colon + 1),
  };
}

/**
 * Messages of one page in messageKey order, except that each conversation's messages take its
 * slots in messageSequence order (two domain instances may hand out keys of one second in another
 * order than the conversation's sequence).
 */
export function inConversationOrder(userId: string, messages: SyncedMessage[]): SyncedMessage[] {
  const slots = new Map<string, number[]>();
  messages.forEach((m, i) => {
    const c = conversationOf(userId, m);
    slots.set(c, [...(slots.get(c) ?? []), i]);
  });
  const out = [...messages];
  for (const indexes of slots.values()) {
    const sorted = indexes.map((i) => messages[i] as SyncedMessage);
    sorted.sort((a, b) => a.messageSequence - b.messageSequence);
    indexes.forEach((slot, k) => {
      out[slot] = sorted[k] as SyncedMessage;
    });
  }
  return out;
}

/**
 * The catch-up of one client (docs/architecture.md §4 "Sync"), one request at a time:
 * - after every login, SYNC_MESSAGES pages from the cursor (minus the overlap) until completed,
 *   while live pushes wait in the inbox so that each conversation's missed messages come first;
 *   then once more after `settleMs`; a failed catch-up is retried with backoff;
 * - when a conversation shows a gap, SYNC_CONVERSATION fetches it from the last sequence held,
 *   again after a short wait if the store has not written it yet, and gives up after
 *   `gapAttempts` (the sequence was never used); sequences below the first one the store
 *   answers with are skipped at once (the user may never see them).
 */
export class MessageSync {
  readonly #queue: Job[] = [];
  /** Conversations being filled: retries so far, and whether the next one is the last. */
  readonly #fills = new Map<string, { retries: number; last: boolean }>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #inflight: { sent: Sent; timer: ReturnType<typeof setTimeout> } | undefined;
  #pass: { delivered: number; login: boolean } | undefined;
  #retryAttempt = 0;
  #online = false;

  constructor(
    private readonly policy: SyncPolicy,
    private readonly userId: string,
    private readonly inbox: Inbox,
    private readonly io: SyncIo,
  ) {}

  /** True while a catch-up runs. */
  get running(): boolean {
    return this.#pass !== undefined;
  }

  /** The connection logged in: catch up from the cursor. */
  start(): void {
    this.stop(); // nothing of an earlier connection carries over
    this.#online = true;
    this.#retryAttempt = 0;
    this.#catchUp(true, true);
  }

  /** The connection is gone: requests and timers are dropped; pushes keep waiting for the next login. */
  stop(): void {
    this.#online = false;
    if (this.#inflight !== undefined) clearTimeout(this.#inflight.timer);
    this.#inflight = undefined;
    this.#queue.length = 0;
    this.#fills.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#pass = undefined;
  }

  /** The client is closing for good: everything received is let through. */
  close(): void {
    this.stop();
    this.inbox.flush();
  }

  /** A conversation shows a gap: fetch its missing messages (after the catch-up, if one runs). */
  fill(conversation: string): void {
    if (!this.#online || this.#pass !== undefined || this.#fills.has(conversation)) return;
    this.#fills.set(conversation, { retries: 0, last: false });
    this.#queue.push({ kind: "fill", conversation });
    this.#pump();
  }

  /** Handles 9008 / 9010; false for other commands. */
  onAnswer(command: number, data: unknown): boolean {
    const sent = this.#inflight?.sent;
    if (command === Command.COMMAND_SYNC_MESSAGES_ACK) {
      const pack = data as SyncMessagesAckPack;
      if (sent?.kind === "device" && pack.lastMessageKey === sent.after) this.#devicePage(pack);
      return true;
    }
    if (command === Command.COMMAND_SYNC_CONVERSATION_ACK) {
      const pack = data as SyncConversationAckPack;
      if (
        sent?.kind === "fill" &&
        pack.toId === targetOf(sent.conversation).toId &&
        pack.lastSequence === sent.after
      ) {
        this.#fillPage(sent.conversation, sent.after, pack);
      }
      return true;
    }
    return false;
  }

  /** Handles an error frame (9006) naming 9007 / 9009; false for others. */
  onError(vo: ResponseVo): boolean {
    const command = (vo.data as { command?: unknown } | undefined)?.command;
    const sent = this.#inflight?.sent;
    if (command === Command.COMMAND_SYNC_MESSAGES && sent?.kind === "device") {
      this.#failed(new ClientError("sync-refused", { code: vo.code, msg: vo.msg }));
      return true;
    }
    if (command === Command.COMMAND_SYNC_CONVERSATION && sent?.kind === "fill") {
      this.#failed(new ClientError("sync-refused", { code: vo.code, msg: vo.msg }));
      return true;
    }
    return command === Command.COMMAND_SYNC_MESSAGES || command === Command.COMMAND_SYNC_CONVERSATION;
  }

  #catchUp(login: boolean, hold: boolean): void {
    if (!this.#online || this.#pass !== undefined) return;
    if (hold) this.inbox.hold();
    this.#pass = { delivered: 0, login };
    const overlap = Math.ceil(this.policy.overlapMs / 1000) * KEYS_PER_SECOND;
    this.#queue.unshift({ kind: "device", after: Math.max(0, this.inbox.cursor - overlap) });
    this.#pump();
  }

  #devicePage(pack: SyncMessagesAckPack): void {
    this.#answered();
    const pass = this.#pass;
    if (pass !== undefined)
      pass.delivered += this.inbox.synced(inConversationOrder(this.userId, pack.messages));
    const last = pack.messages[pack.messages.length - 1]?.messageKey;
    if (!pack.completed && last !== undefined) this.#queue.unshift({ kind: "device", after: last });
    else this.#passDone(undefined);
    this.#pump();
  }

  #fillPage(conversation: string, after: number, pack: SyncConversationAckPack): void {
    this.#answered();
    // The page is everything the user may see after `after`, ascending: when its first message
    // lies beyond `after + 1`, the sequences between will never be available (history before a
    // group member's join point, store: join_sequence; a sequence jump after a sequence store
    // loss), so they are no gap to wait for. An empty page proves nothing: the store may not have
    // written the held message either (the retries below wait for it).
    const first = Math.min(...pack.messages.map((m) => m.messageSequence));
    if (pack.messages.length > 0 && first > after + 1) this.inbox.advance(conversation, first - 1);
    this.inbox.synced(pack.messages);
    const last = this.inbox.last(conversation) ?? 0;
    if (!this.inbox.hasGap(conversation)) this.#fills.delete(conversation);
    else if (!pack.completed && pack.messages.length > 0) this.#queue.push({ kind: "fill", conversation });
    else
      this.#fillAgain(
        conversation,
        pack.messages.some((m) => m.messageSequence > last + 1),
      );
    this.#pump();
  }

  /** The request in flight failed (error frame or timeout). */
  #failed(error: ClientError): void {
    const sent = this.#inflight?.sent;
    this.#answered();
    if (sent?.kind === "device") this.#passDone(error);
    else if (sent?.kind === "fill") this.#fillAgain(sent.conversation);
    this.#pump();
  }

  #passDone(error: ClientError | undefined): void {
    const pass = this.#pass;
    this.#pass = undefined;
    this.inbox.release();
    if (error === undefined) {
      this.#retryAttempt = 0;
      this.io.synced({ cursor: this.inbox.cursor, messages: pass?.delivered ?? 0 });
      if (pass?.login === true && this.policy.settleMs > 0) {
        this.#later(this.policy.settleMs, () => this.#catchUp(false, false));
      }
    } else {
      this.io.error(error);
      // 90001: a gateway without these commands; asking again would only be refused again.
      if (error.code !== 90_001) {
        const policy = isBusyFailure(error) ? this.policy.busyRetry : this.policy.retry;
        const delay = backoffDelay(policy, this.#retryAttempt++, this.io.random);
        this.#later(delay, () => this.#catchUp(false, true));
      }
    }
    for (const conversation of this.inbox.gaps()) this.fill(conversation);
  }

  /**
   * The gap is still there. When the store already holds messages after it, the missing sequence
   * was most likely never used (docs/architecture.md §4: gaps are allowed): one more look covers a write
   * still in flight, then it is skipped. Otherwise the store may lag: ask again, `gapAttempts` times.
   */
  #fillAgain(conversation: string, storedBeyond = false): void {
    const fill = this.#fills.get(conversation) ?? { retries: 0, last: false };
    if (fill.last || fill.retries + 1 >= this.policy.gapAttempts) {
      this.#fills.delete(conversation);
      this.inbox.skip(conversation);
      return;
    }
    this.#fills.set(conversation, { retries: fill.retries + 1, last: storedBeyond });
    this.#later(this.policy.gapRetryMs * 2 ** fill.retries, () => {
      if (!this.#fills.has(conversation)) return;
      this.#queue.push({ kind: "fill", conversation });
      this.#pump();
    });
  }

  #answered(): void {
    if (this.#inflight !== undefined) clearTimeout(this.#inflight.timer);
    this.#inflight = undefined;
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #pump(): void {
    if (!this.#online || this.#inflight !== undefined) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    const maxLimit = this.policy.pageSize;
    let sent: Sent;
    let written: boolean;
    if (job.kind === "device") {
      sent = job;
      written = this.io.write(Command.COMMAND_SYNC_MESSAGES, { lastMessageKey: job.after, maxLimit });
    } else {
      const after = this.inbox.last(job.conversation) ?? 0;
      sent = { kind: "fill", conversation: job.conversation, after };
      written = this.io.write(Command.COMMAND_SYNC_CONVERSATION, {
        ...targetOf(job.conversation),
        lastSequence: after,
        maxLimit,
      });
    }
    if (!written) {
      this.#queue.unshift(job); // the connection is going; stop() clears this
      return;
    }
    const timer = setTimeout(
      () => this.#failed(new ClientError("sync-timeout")),
      this.policy.requestTimeoutMs,
    );
    this.#inflight = { sent, timer };
  }
}
