import type {
  ChatServiceSendItem,
  ChatServiceSendMessagesRequest,
  ChatServiceSendMessagesResponse,
  ChatServiceSendResult,
} from "../../gen/ts/whaleshark/v1/chat_service.js";

/** Most items in one ChatService.SendMessages call (the domain takes up to 1,000). */
export const MAX_BATCH_ITEMS = 256;

/** gRPC statuses after which a batch is sent again: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const RETRYABLE = new Set([1, 4, 8, 14]);

/** Delays before the retries of a failed batch (ms); after the last one its sends fail. */
export const RETRY_DELAYS_MS = [50, 200, 800];

/**
 * How long an accepted send's answer is kept for its resends, ms, and how many are kept at most
 * (the oldest go first): a resend of a send answered meanwhile (its ACK crossed the resend, or
 * was lost with a dying connection and the client reconnected here) is answered from here,
 * without a call, so the domain neither works on it again nor pushes it a second time.
 */
export const ANSWERED_MEMORY_MS = 30_000;
export const MAX_ANSWERED = 20_000;

interface Entry {
  readonly orderKey: string;
  readonly item: ChatServiceSendItem;
  readonly sendKey: string | undefined;
  /** Answer the current promise of the send (a new one while its batch is retried, see dispatch). */
  resolve: (result: ChatServiceSendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the sends (1103 / 2104) of all connections into ChatService.SendMessages calls, one per
 * event-loop turn (at most {@link MAX_BATCH_ITEMS} items each), so the gateway → domain round
 * trip and what the domain pays per call are paid per batch, not per message.
 *
 * Order: `orderKey` names a connection's conversation. A key has at most one call in flight; its
 * sends that arrive meanwhile wait and go together, in arrival order, in the next call after that
 * one has been answered. The domain sequences a conversation's items of one call in item order,
 * so a conversation's sequences follow the frames' order even when the calls of consecutive
 * batches reach different domain processes, while one conversation still has as many sends in
 * flight as arrive during one round trip (not one at a time).
 *
 * A call that fails as a whole (the domain unreachable, restarting or past the deadline: it may
 * not have run the batch at all) answers its sends with the error at once (the client hears
 * within the deadline, D22, and will resend), but its keys stay held and the batch is sent again
 * in the background after {@link RETRY_DELAYS_MS} — a send is idempotent by messageId, so a batch
 * the domain did run is answered from its dedupe. The client's resend of such a send joins that
 * retry (and is answered from memory once the retry was accepted) instead of reaching the domain
 * a second time: each copy the domain sees of an accepted message is pushed again. The conversation's later sends (the client's
 * resends among them) wait behind it and so never overtake it: its sends keep their place in the
 * conversation's order. Only when the retries fail too are the sends held behind it failed.
 */
export class SendBatcher {
  /** Ready for the next call, in arrival order. */
  #ready: Entry[] = [];
  /** Per order key with a call in flight: the sends waiting for its answer. */
  readonly #held = new Map<string, Entry[]>();
  /** The sends waiting or in flight by `sendKey`: a resend of one of them joins it. */
  readonly #pending = new Map<string, Promise<ChatServiceSendResult>>();
  /** Accepted sends by `sendKey`, oldest first, with when they were answered. */
  readonly #answered = new Map<string, { result: ChatServiceSendResult; at: number }>();
  #scheduled = false;

  constructor(
    private readonly call: (req: ChatServiceSendMessagesRequest) => Promise<ChatServiceSendMessagesResponse>,
    private readonly maxItems: number = MAX_BATCH_ITEMS,
    private readonly retryDelaysMs: readonly number[] = RETRY_DELAYS_MS,
    private readonly clock: () => number = () => performance.now(),
    private readonly answeredMemory = { ms: ANSWERED_MEMORY_MS, max: MAX_ANSWERED },
  ) {}

  /**
   * What is known of the send `sendKey` already: the promise of its first copy while that one
   * waits or is in flight (a resend joins it), or the result it was accepted with (within
   * {@link ANSWERED_MEMORY_MS}); undefined for a send this gateway has not seen (or forgot).
   */
  known(sendKey: string): Promise<ChatServiceSendResult> | ChatServiceSendResult | undefined {
    const pending = this.#pending.get(sendKey);
    if (pending !== undefined) return pending;
    const answered = this.#answered.get(sendKey);
    if (answered === undefined) return undefined;
    if (this.clock() - answered.at > this.answeredMemory.ms) {
      this.#answered.delete(sendKey);
      return undefined;
    }
    return answered.result;
  }

  /** Accepted sends remembered (tests). */
  get remembered(): number {
    return this.#answered.size;
  }

  /**
   * Queues one send; resolves with its result (the item's code and data), rejects with the call's
   * error when the whole call failed (domain down, deadline). `sendKey` names the send (its
   * user, messageId and conversation): a resend that arrives while the first copy still waits or
   * is in flight joins it and gets its answer, instead of being queued and processed a second time
   * (a client that resends after 2 s of an overloaded server would otherwise double the load), and
   * one that arrives after it was accepted is answered from {@link known}.
   */
  submit(orderKey: string, item: ChatServiceSendItem, sendKey?: string): Promise<ChatServiceSendResult> {
    const joined = sendKey === undefined ? undefined : this.#pending.get(sendKey);
    if (joined !== undefined) return joined;
    const entry: Entry = { orderKey, item, sendKey, resolve: () => undefined, reject: () => undefined };
    const result = this.#track(entry);
    const held = this.#held.get(orderKey);
    if (held !== undefined) held.push(entry);
    else this.#enqueue(entry);
    return result;
  }

  /**
   * A new promise for `entry`'s answer, registered under its sendKey while unanswered (resends
   * join it) and remembered once accepted.
   */
  #track(entry: Entry): Promise<ChatServiceSendResult> {
    const result = new Promise<ChatServiceSendResult>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    const sendKey = entry.sendKey;
    if (sendKey === undefined) {
      result.catch(() => undefined); // a retried batch's copy nobody joined
      return result;
    }
    this.#pending.set(sendKey, result);
    const forget = () => {
      if (this.#pending.get(sendKey) === result) this.#pending.delete(sendKey);
    };
    result.then((answer) => {
      forget();
      if (answer.code === 0) this.#remember(sendKey, answer);
    }, forget);
    return result;
  }

  /** Sends waiting for a call (tests). */
  get waiting(): number {
    let n = this.#ready.length;
    for (const held of this.#held.values()) n += held.length;
    return n;
  }

  #remember(sendKey: string, result: ChatServiceSendResult): void {
    const now = this.clock();
    this.#answered.delete(sendKey);
    this.#answered.set(sendKey, { result, at: now });
    for (const [key, a] of this.#answered) {
      if (this.#answered.size <= this.answeredMemory.max && now - a.at <= this.answeredMemory.ms) break;
      this.#answered.delete(key);
    }
  }

  #enqueue(entry: Entry): void {
    this.#ready.push(entry);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#ready.length > 0) {
      const batch = this.#ready.slice(0, this.maxItems);
      const rest = this.#ready.slice(this.maxItems);
      const keys = new Set<string>();
      for (const e of batch) keys.add(e.orderKey);
      for (const key of keys) this.#held.set(key, []);
      // What is left of a key now in flight waits for that call's answer; the others go next.
      this.#ready = [];
      for (const e of rest) {
        const held = this.#held.get(e.orderKey);
        if (held !== undefined) held.push(e);
        else this.#ready.push(e);
      }
      this.#dispatch(batch, keys);
    }
  }

  #dispatch(batch: Entry[], keys: Set<string>, attempt = 0): void {
    let pending: Promise<ChatServiceSendMessagesResponse>;
    try {
      pending = this.call({ items: batch.map((e) => e.item) });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        this.#release(keys);
        batch.forEach((e, i) => {
          const result = response.results[i];
          if (result === undefined) e.reject(new Error("SendMessages answered fewer results than items"));
          else e.resolve(result);
        });
      },
      (error: unknown) => {
        for (const e of batch) e.reject(error); // the first failure answers; later ones are no-ops
        const delay = this.retryDelaysMs[attempt];
        if (delay !== undefined && RETRYABLE.has((error as { code?: number })?.code ?? -1)) {
          // The domain may have run the batch (a deadline passed) and runs it again: a resend
          // that comes meanwhile joins the retry instead of going to the domain a second time,
          // and an accepted result is remembered for later ones.
          for (const e of batch) this.#track(e);
          setTimeout(() => this.#dispatch(batch, keys, attempt + 1), delay);
          return;
        }
        // What waited behind these sends fails too rather than overtaking them.
        const held = [...keys].flatMap((key) => this.#held.get(key) ?? []);
        for (const key of keys) this.#held.delete(key);
        for (const e of held) e.reject(error);
      },
    );
  }

  /** The call of these keys was answered: their held sends join the next call, in order. */
  #release(keys: Set<string>): void {
    for (const key of keys) {
      const held = this.#held.get(key) ?? [];
      this.#held.delete(key);
      for (const e of held) this.#enqueue(e);
    }
  }
}
