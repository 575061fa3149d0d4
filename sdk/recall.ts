import type { RecallMessageAck } from "../gen/ts/whaleshark/v1/message.js";
import { GROUP, P2P } from "../lib/wire/conversation-type.js";
import { ClientError } from "./client-error.js";

/** The message to recall: its conversation and what its ACK or push said about it. */
export interface RecallInput {
  /** 0 P2P, 1 GROUP. */
  conversationType: 0 | 1;
  /** The peer (P2P) or the group id. */
  toId: string;
  messageKey: number;
  messageSequence: number;
  /** The message's messageTime (the recall window counts from it, 50004 past it). */
  messageTime: number;
}

/** Checks a recall request before anything is written: a bad one never reaches the server. */
export function validateRecall(input: RecallInput): void {
  if (input.conversationType !== P2P && input.conversationType !== GROUP) {
    throw new TypeError("recall: conversationType must be 0 (P2P) or 1 (GROUP)");
  }
  if (typeof input.toId !== "string" || input.toId.length === 0 || input.toId.length > 50) {
    throw new TypeError("recall: toId must be 1 to 50 characters");
  }
  for (const field of ["messageKey", "messageSequence", "messageTime"] as const) {
    const value = input[field];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`recall: ${field} must be a positive integer`);
    }
  }
}

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Recall requests (MSG_RECALL 1050) waiting for their MSG_RECALL_ACK 1051, matched by messageKey
 * (the ACK names it, success or not). Two recalls of one message share the answer. Not resent:
 * a recall is answered or times out (`request-timeout`), and the application may ask again
 * (a second recall of a recalled message is refused with 50005).
 */
export class Recalls {
  readonly #waiting = new Map<number, { promise: Promise<void>; waiting: Waiting }>();

  constructor(readonly timeoutMs: number) {}

  /** The promise of the recall of `messageKey`; `write` is called only for a new one. */
  start(messageKey: number, write: () => boolean): Promise<void> {
    const known = this.#waiting.get(messageKey);
    if (known !== undefined) return known.promise;
    let waiting!: Waiting;
    const promise = new Promise<void>((resolve, reject) => {
      waiting = {
        resolve,
        reject,
        timer: setTimeout(() => this.#settle(messageKey, new ClientError("request-timeout")), this.timeoutMs),
      };
    });
    this.#waiting.set(messageKey, { promise, waiting });
    if (!write()) this.#settle(messageKey, new ClientError("not-connected"));
    return promise;
  }

  /** A 1051 arrived: settles its recall; false when none waited (a late or foreign ACK). */
  onAck(ack: RecallMessageAck): boolean {
    const key = ack.data?.messageKey ?? 0;
    if (!this.#waiting.has(key)) return false;
    this.#settle(key, ack.ok ? undefined : new ClientError("refused", { code: ack.code, msg: ack.msg }));
    return true;
  }

  /** The connection ended: no answer will come for what was asked on it. */
  failAll(error: Error): void {
    for (const key of [...this.#waiting.keys()]) this.#settle(key, error);
  }

  get size(): number {
    return this.#waiting.size;
  }

  #settle(key: number, error: Error | undefined): void {
    const entry = this.#waiting.get(key);
    if (entry === undefined) return;
    this.#waiting.delete(key);
    clearTimeout(entry.waiting.timer);
    if (error === undefined) entry.waiting.resolve();
    else entry.waiting.reject(error);
  }
}
