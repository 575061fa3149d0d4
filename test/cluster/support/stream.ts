import { expect } from "vitest";
import type { TestCluster } from "../../support/cluster.js";
import { eventually } from "../../support/harness/eventually.js";
import type { Device } from "./devices.js";

/** One message of a stream and its final ACK. */
export interface Sent {
  fromId: string;
  toId: string;
  messageId: string;
  /** When the SDK was first asked to send it, and when its ACK resolved (epoch ms). */
  startedAt: number;
  ackedAt: number;
  code: number;
  key: number;
  sequence: number;
}

/** The shape of a stream of messages. */
export interface StreamOptions {
  /** At least this many rounds. */
  rounds: number;
  everyMs: number;
  /**
   * Messages per sender and round (default 1), handed to the SDK back to back without waiting:
   * with bursts of 100 and more each sender has hundreds of sends written and not yet ACKed.
   */
  burst?: number;
  /** messageIds are `<tag>-<fromId>-<i>`, so a stream's rows can be counted in the database. */
  tag: string;
  /** More rounds are sent while this says false (at most 500 rounds in all). */
  until?: () => boolean;
  /** Called with each ACK as it arrives. */
  onAck?: (sent: Sent) => void;
}

/** The sends of a stream not ACKed yet, at one moment. */
export interface InFlight {
  /** Handed to the SDK and not ACKed yet (started minus ACKed). */
  unacked: number;
  /** Of `unacked`, those the SDKs wrote: they hold a slot of the send window, none queued behind it. */
  written: number;
  /** ACKs since the last burst was written: > 0 once the cluster is answering it. */
  ackedSinceBurst: number;
}

/**
 * A running stream of P2P messages from every sender to its peer: one round every `everyMs` of
 * `burst` messages per sender, without waiting for ACKs (the SDK keeps each pending and resends
 * it until ACKed).
 */
export class Stream {
  /**
   * Every send's ACK, in send order, once all came.
   * @throws the SDK's error when a send is finally refused or runs out of attempts
   */
  readonly done: Promise<Sent[]>;
  #started = 0;
  #acked = 0;
  #ackedAtBurst = 0;

  constructor(
    private readonly senders: ReadonlyArray<{ device: Device; toId: string }>,
    options: StreamOptions,
  ) {
    this.done = this.#run(options);
    this.done.catch(() => undefined); // awaited by the test; no unhandled rejection meanwhile
  }

  /** The sends in flight right now. */
  inFlight(): InFlight {
    let written = 0;
    for (const { device } of this.senders) written += device.client.pendingCount - device.client.queuedCount;
    return {
      unacked: this.#started - this.#acked,
      written,
      ackedSinceBurst: this.#acked - this.#ackedAtBurst,
    };
  }

  async #run(options: StreamOptions): Promise<Sent[]> {
    const pending: Array<Promise<Sent>> = [];
    const burst = options.burst ?? 1;
    for (let round = 0; round < 500 && (round < options.rounds || options.until?.() === false); round++) {
      for (const { device, toId } of this.senders) {
        for (let i = round * burst; i < (round + 1) * burst; i++) {
          const messageId = `${options.tag}-${device.userId}-${i}`;
          const startedAt = Date.now();
          this.#started++;
          const send = device.client.sendP2P({ toId, messageBody: messageId, messageId }).then((ack) => {
            this.#acked++;
            const sent: Sent = {
              fromId: device.userId,
              toId,
              messageId,
              startedAt,
              ackedAt: Date.now(),
              code: ack.code,
              key: ack.data?.messageKey ?? 0,
              sequence: ack.data?.messageSequence ?? 0,
            };
            options.onAck?.(sent);
            return sent;
          });
          send.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
          pending.push(send);
        }
      }
      this.#ackedAtBurst = this.#acked;
      await new Promise((r) => setTimeout(r, options.everyMs));
    }
    return Promise.all(pending);
  }
}

/** Starts a {@link Stream}. */
export function stream(
  senders: ReadonlyArray<{ device: Device; toId: string }>,
  options: StreamOptions,
): Stream {
  return new Stream(senders, options);
}

/**
 * Kills a process in the middle of a burst: polls every 5 ms until `ready` holds and at least
 * `min` sends of `s` are written and not ACKed while the cluster is answering the last burst
 * (part of it ACKed, so the rest is spread along the way: gateway, domain, bus), then calls
 * `kill` at once (it must send its signal synchronously) and waits for it.
 * @returns the sends in flight at the moment of the kill
 * @throws Error when that moment does not come within `timeoutMs`
 */
export async function killInFlight(
  s: Stream,
  min: number,
  ready: () => boolean | Promise<boolean>,
  kill: () => Promise<unknown>,
  timeoutMs = 20_000,
): Promise<InFlight> {
  const deadline = Date.now() + timeoutMs;
  let armed = false;
  let most = 0;
  for (;;) {
    armed ||= await ready();
    const now = s.inFlight(); // read after the await: nothing runs between it and the signal
    if (armed && now.written >= min && now.ackedSinceBurst > 0) {
      await kill();
      console.info(
        `killed with ${now.written} sends written and not ACKed (${now.unacked} handed to the SDKs)`,
      );
      return now;
    }
    most = Math.max(most, now.written);
    if (Date.now() > deadline) {
      throw new Error(
        `not within ${timeoutMs} ms: ready (${armed}) with ${min} sends in flight (at most ${most})`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Every ACKed message of the stream `tag` is in PostgreSQL exactly once, with its ACK's key and
 * sequence and both owners' history rows, and no resend made a second row; sequences are never
 * reused within a conversation.
 */
export async function expectStoredOnce(cluster: TestCluster, sent: Sent[], tag: string): Promise<void> {
  const db = await cluster.db();
  const keys = sent.map((s) => BigInt(s.key));
  expect(new Set(keys).size).toBe(sent.length);
  await eventually(
    async () => (await db.messageBody.count({ where: { messageKey: { in: keys } } })) === keys.length,
    20_000,
    "every ACKed message stored",
  );
  const rows = await db.messageBody.findMany({
    where: { messageId: { startsWith: `${tag}-` } },
    select: { messageKey: true, messageId: true, fromId: true, messageSequence: true },
  });
  expect(rows).toHaveLength(sent.length); // a resend never stored a second copy
  const byId = new Map(sent.map((s) => [`${s.fromId}/${s.messageId}`, s]));
  for (const row of rows) {
    const ack = byId.get(`${row.fromId}/${row.messageId}`);
    expect(Number(row.messageKey)).toBe(ack?.key);
    expect(Number(row.messageSequence)).toBe(ack?.sequence);
  }
  expect(await db.messageHistory.count({ where: { messageKey: { in: keys } } })).toBe(2 * keys.length);
  for (const [pair, acked] of conversations(sent)) {
    const sequences = acked.map((s) => s.sequence);
    expect(new Set(sequences).size, `${pair}: no sequence reused`).toBe(sequences.length);
  }
}

/**
 * Each receiver got every ACKed message of the stream `tag` sent to it exactly once, each
 * conversation in increasing sequence order (pushes and catch-up together, as the SDK emits them):
 * the messages the SDK emitted as in order have increasing sequences, and one it emitted flagged
 * `late` (it came after its gap was given up on, sdk/README.md) lies below one emitted before it.
 * Returns how many were late.
 */
export async function expectDelivered(
  receivers: Device[],
  sent: Sent[],
  tag: string,
  opts: { inOrder: boolean } = { inOrder: true },
): Promise<number> {
  let lateCount = 0;
  const got = (r: Device) => r.messages.filter((m) => m.message.messageId.startsWith(`${tag}-`));
  const expected = new Map(receivers.map((r) => [r.userId, sent.filter((s) => s.toId === r.userId)]));
  const counts = () =>
    receivers.map((r) => `${r.userId} ${got(r).length}/${expected.get(r.userId)?.length}`).join(", ");
  await eventually(
    () => receivers.every((r) => got(r).length >= (expected.get(r.userId)?.length ?? 0)),
    20_000,
    "every ACKed message delivered",
  ).catch((error: Error) => {
    throw new Error(`${error.message} (${counts()})`);
  });
  for (const r of receivers) {
    for (const [pair, acked] of conversations(expected.get(r.userId) ?? [])) {
      const from = acked[0]?.fromId;
      const delivered = got(r).filter((m) => m.message.fromId === from);
      const keys = (list: number[]) => list.sort((a, b) => a - b);
      expect(
        keys(delivered.map((m) => m.message.messageKey)),
        `${pair}: every ACKed message delivered once`,
      ).toEqual(keys(acked.map((s) => s.key)));
      const behind: string[] = [];
      let highest = 0;
      for (const { message: at, late } of delivered) {
        if (late) {
          lateCount++;
          if (at.messageSequence > highest)
            behind.push(`sequence ${at.messageSequence} flagged late above ${highest}`);
        } else if (at.messageSequence <= highest) {
          behind.push(`sequence ${at.messageSequence} (${at.messageId}) after ${highest}`);
        }
        highest = Math.max(highest, at.messageSequence);
      }
      if (opts.inOrder) expect(behind, `${pair}: delivered in increasing sequence order`).toEqual([]);
    }
  }
  return lateCount;
}

/** The sends of each `fromId>toId` conversation, in sequence order. */
function conversations(sent: Sent[]): Map<string, Sent[]> {
  const pairs = new Map<string, Sent[]>();
  for (const s of sent) {
    const pair = `${s.fromId}>${s.toId}`;
    const list = pairs.get(pair);
    if (list === undefined) pairs.set(pair, [s]);
    else list.push(s);
  }
  for (const list of pairs.values()) list.sort((a, b) => a.sequence - b.sequence);
  return pairs;
}
