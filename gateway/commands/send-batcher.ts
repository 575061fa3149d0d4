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

interface Entry {
  readonly orderKey: string;
  readonly item: ChatServiceSendItem;
  resolve(result: ChatServiceSendResult): void;
  reject(error: unknown): void;
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
 * the domain did run is answered from its dedupe. The conversation's later sends (the client's
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
  #scheduled = false;

  constructor(
    private readonly call: (req: ChatServiceSendMessagesRequest) => Promise<ChatServiceSendMessagesResponse>,
    private readonly maxItems: number = MAX_BATCH_ITEMS,
    private readonly retryDelaysMs: readonly number[] = RETRY_DELAYS_MS,
  ) {}

  /**
   * Queues one send; resolves with its result (the item's code and data), rejects with the call's
   * error when the whole call failed (domain down, deadline). `sendKey` names the send (the
   * connection and its messageId): a resend that arrives while the first copy still waits or is in
   * flight joins it and gets its answer, instead of being queued and processed a second time (a
   * client that resends after 2 s of an overloaded server would otherwise double the load).
   */
  submit(orderKey: string, item: ChatServiceSendItem, sendKey?: string): Promise<ChatServiceSendResult> {
    const joined = sendKey === undefined ? undefined : this.#pending.get(sendKey);
    if (joined !== undefined) return joined;
    const result = new Promise<ChatServiceSendResult>((resolve, reject) => {
      const entry: Entry = { orderKey, item, resolve, reject };
      const held = this.#held.get(orderKey);
      if (held !== undefined) held.push(entry);
      else this.#enqueue(entry);
    });
    if (sendKey !== undefined) {
      this.#pending.set(sendKey, result);
      const forget = () => {
        if (this.#pending.get(sendKey) === result) this.#pending.delete(sendKey);
      };
      result.then(forget, forget);
    }
    return result;
  }

  /** Sends waiting for a call (tests). */
  get waiting(): number {
    let n = this.#ready.length;
    for (const held of this.#held.values()) n += held.length;
    return n;
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
