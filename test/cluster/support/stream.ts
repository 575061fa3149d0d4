import { expect } from "vitest";
import type { TestCluster } from "../../support/cluster.js";
import { type Device, eventually } from "./devices.js";

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
  /** At least this many rounds (one message per sender each). */
  rounds: number;
  everyMs: number;
  /** messageIds are `<tag>-<fromId>-<i>`, so a stream's rows can be counted in the database. */
  tag: string;
  /** More rounds are sent while this says false (at most 500 rounds in all). */
  until?: () => boolean;
  /** Called with each ACK as it arrives. */
  onAck?: (sent: Sent) => void;
}

/**
 * Sends P2P messages from every sender to its peer, one round every `everyMs`, without waiting
 * for ACKs (the SDK keeps each pending and resends it until ACKed), then waits for every ACK.
 * @throws the SDK's error when a send is finally refused or runs out of attempts
 */
export async function stream(
  senders: Array<{ device: Device; toId: string }>,
  options: StreamOptions,
): Promise<Sent[]> {
  const pending: Array<Promise<Sent>> = [];
  for (let i = 0; i < 500 && (i < options.rounds || options.until?.() === false); i++) {
    for (const { device, toId } of senders) {
      const messageId = `${options.tag}-${device.userId}-${i}`;
      const startedAt = Date.now();
      const send = device.client.sendP2P({ toId, messageBody: messageId, messageId }).then((ack) => {
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
    await new Promise((r) => setTimeout(r, options.everyMs));
  }
  return Promise.all(pending);
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
    "every ACKed message stored",
    async () => (await db.messageBody.count({ where: { messageKey: { in: keys } } })) === keys.length,
    20_000,
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
  const perPair = new Map<string, number[]>();
  for (const s of sent)
    perPair.set(`${s.fromId}>${s.toId}`, [...(perPair.get(`${s.fromId}>${s.toId}`) ?? []), s.sequence]);
  for (const sequences of perPair.values()) expect(new Set(sequences).size).toBe(sequences.length);
}
