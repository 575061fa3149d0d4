import type { WhaleSharkClient } from "../../sdk/index.js";
import { epochMs, sleep, waitUntil } from "../lib/clock.js";
import { Histogram } from "../lib/histogram.js";
import type { AgentCounters, P2PResult, P2PSpec } from "./agent-protocol.js";
import { failureKey, makeBody, readBody } from "./message-body.js";

interface PairState {
  from: WhaleSharkClient;
  to: string;
  nextSeq: number;
  acked: number[];
  delivered: Set<number>;
  maxDelivered: number;
  lastMessageSequence: number;
}

/**
 * Runs one P2P measurement over pairs whose both ends are clients of this agent (so send and
 * receive times come from one clock). Open mode sends on a fixed schedule, whatever the answers
 * (latencies count from the scheduled time, so a stalled server or generator is not hidden:
 * no coordinated omission); closed mode keeps `window` sends in flight per sender (over its pairs in
 * turn: one sender may talk to many receivers, each pair its own conversation). Receivers check
 * every delivery against what was sent: duplicates, order (send order and messageSequence), and
 * at the end what was acknowledged but never delivered (lost).
 */
export async function runP2P(
  spec: P2PSpec,
  clients: Map<string, WhaleSharkClient>,
  counters: AgentCounters,
): Promise<P2PResult> {
  const ack = new Histogram();
  const deliver = new Histogram();
  const sendLag = new Histogram();
  const failures: Record<string, number> = {};
  const r = { sent: 0, skipped: 0, acked: 0, failed: 0, delivered: 0, viaSync: 0, dup: 0, ooo: 0, seqOoo: 0 };
  let [lastAckMs, lastDeliverMs] = [0, 0];

  const pairs: PairState[] = spec.pairs.map(([from, to]) => {
    const client = clients.get(from);
    if (client === undefined || !clients.has(to)) throw new Error(`p2p: ${from} → ${to} is not open here`);
    return {
      from: client,
      to,
      nextSeq: 0,
      acked: [],
      delivered: new Set(),
      maxDelivered: -1,
      lastMessageSequence: 0,
    };
  });
  const unsubscribe = spec.pairs.map(([, to]) =>
    (clients.get(to) as WhaleSharkClient).on("message", (m) => {
      if (m.kind !== "p2p" || m.fromSelf) return;
      const body = readBody(m.message.messageBody);
      const pair = body?.r === spec.runId ? pairs[body.p] : undefined;
      if (body === undefined || pair === undefined) return; // another run's late message
      const now = epochMs();
      if (pair.delivered.has(body.n)) {
        r.dup++;
        return;
      }
      pair.delivered.add(body.n);
      r.delivered++;
      if (m.synced) r.viaSync++;
      counters.delivered++;
      lastDeliverMs = now;
      deliver.recordMs(now - body.t);
      if (body.n < pair.maxDelivered) r.ooo++;
      pair.maxDelivered = Math.max(pair.maxDelivered, body.n);
      if (m.message.messageSequence < pair.lastMessageSequence) r.seqOoo++;
      pair.lastMessageSequence = Math.max(pair.lastMessageSequence, m.message.messageSequence);
    }),
  );

  const sendOne = (index: number, pair: PairState, scheduledMs: number): Promise<void> => {
    const seq = pair.nextSeq++;
    r.sent++;
    counters.sent++;
    sendLag.recordMs(epochMs() - scheduledMs);
    const messageBody = makeBody({ r: spec.runId, p: index, n: seq, t: scheduledMs }, spec.bodyBytes);
    return pair.from.sendP2P({ toId: pair.to, messageBody }).then(
      () => {
        const now = epochMs();
        ack.recordMs(now - scheduledMs);
        lastAckMs = now;
        r.acked++;
        counters.acked++;
        pair.acked.push(seq);
      },
      (error: unknown) => {
        r.failed++;
        counters.failed++;
        const key = failureKey(error);
        failures[key] = (failures[key] ?? 0) + 1;
      },
    );
  };

  const sendStartMs = epochMs();
  const endAt = sendStartMs + spec.durationMs;
  const offered = spec.mode === "open" ? Math.floor((spec.ratePerSec * spec.durationMs) / 1000) : 0;
  if (spec.mode === "open") {
    // Tick every millisecond (or as often as the event loop allows) and send what is due.
    let issued = 0;
    while (issued < offered) {
      const due = Math.min(offered, Math.floor(((epochMs() - sendStartMs) * spec.ratePerSec) / 1000));
      for (; issued < due; issued++) {
        const index = issued % pairs.length;
        const pair = pairs[index] as PairState;
        if (pair.from.pendingCount >= spec.maxPendingPerSender) {
          r.skipped++;
          continue;
        }
        void sendOne(index, pair, sendStartMs + (issued * 1000) / spec.ratePerSec);
      }
      await sleep(1);
    }
  } else {
    // `window` lanes per sender, each sending to the sender's next pair in turn when its last
    // send is answered (one pair per sender: `window` in flight per pair).
    const bySender = new Map<WhaleSharkClient, number[]>();
    for (const [i, pair] of pairs.entries()) {
      const indexes = bySender.get(pair.from) ?? [];
      indexes.push(i);
      bySender.set(pair.from, indexes);
    }
    const lanes = [...bySender.values()].flatMap((indexes) => {
      let turn = 0;
      const lane = async () => {
        while (epochMs() < endAt) {
          const index = indexes[turn++ % indexes.length] as number;
          await sendOne(index, pairs[index] as PairState, epochMs());
        }
      };
      return Array.from({ length: spec.window }, lane);
    });
    await Promise.all(lanes);
  }
  const sendEndMs = epochMs();

  const settled = () => r.acked + r.failed === r.sent && r.delivered >= r.acked;
  await waitUntil(settled, spec.drainMs);
  for (const off of unsubscribe) off();
  let lost = 0;
  for (const pair of pairs) for (const seq of pair.acked) if (!pair.delivered.has(seq)) lost++;
  const count = (reason: string) =>
    Object.entries(failures).reduce((n, [k, v]) => (k.startsWith(reason) ? n + v : n), 0);
  return {
    offered: spec.mode === "open" ? offered : r.sent,
    sent: r.sent,
    skipped: r.skipped,
    acked: r.acked,
    refused: count("refused"),
    ackTimeouts: count("unknown"),
    otherFailures: r.failed - count("refused") - count("unknown"),
    failures,
    delivered: r.delivered,
    viaSync: r.viaSync,
    duplicated: r.dup,
    outOfOrder: r.ooo,
    sequenceOutOfOrder: r.seqOoo,
    lost,
    unacked: r.sent - r.acked - r.failed,
    ack: ack.toData(),
    deliver: deliver.toData(),
    sendLag: sendLag.toData(),
    sendStartMs,
    sendEndMs,
    lastAckMs,
    lastDeliverMs,
  };
}
