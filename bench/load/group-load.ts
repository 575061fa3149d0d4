import type { WhaleSharkClient } from "../../sdk/index.js";
import { epochMs, sleep, waitUntil } from "../lib/clock.js";
import { Histogram } from "../lib/histogram.js";
import type {
  AgentCounters,
  GroupListenSpec,
  GroupSendResult,
  GroupSendSpec,
  ReceiveResult,
} from "./agent-protocol.js";
import { failureKey, makeBody, readBody } from "./message-body.js";

/**
 * Counts what arrives at many receivers: per-delivery send→deliver latency, per-message arrival
 * count and latest arrival (a message is "delivered to all" at its latest arrival), duplicates.
 * Shared by the group scenario (SDK clients) and the bare broadcast baseline (raw sockets).
 */
export class ReceiveTally {
  readonly #deliver = new Histogram();
  readonly #perMessage = new Map<number, { count: number; maxMs: number }>();
  readonly #seen = new Map<string, Set<number>>();
  #delivered = 0;
  #viaSync = 0;
  #duplicated = 0;
  #lastDeliverMs = 0;

  constructor(private readonly counters: AgentCounters) {}

  /** One arrival of message `n`, scheduled at `sentMs`, at `receiver` (`synced`: by catch-up). */
  record(receiver: string, n: number, sentMs: number, synced = false): void {
    const now = epochMs();
    let seen = this.#seen.get(receiver);
    if (seen === undefined) {
      seen = new Set();
      this.#seen.set(receiver, seen);
    }
    if (seen.has(n)) {
      this.#duplicated++;
      return;
    }
    seen.add(n);
    this.#delivered++;
    if (synced) this.#viaSync++;
    this.counters.delivered++;
    this.#lastDeliverMs = now;
    const ms = now - sentMs;
    this.#deliver.recordMs(ms);
    const m = this.#perMessage.get(n) ?? { count: 0, maxMs: 0 };
    m.count++;
    m.maxMs = Math.max(m.maxMs, ms);
    this.#perMessage.set(n, m);
  }

  /** The totals so far. */
  result(): ReceiveResult {
    return {
      delivered: this.#delivered,
      viaSync: this.#viaSync,
      duplicated: this.#duplicated,
      deliver: this.#deliver.toData(),
      perMessage: Object.fromEntries(this.#perMessage),
      lastDeliverMs: this.#lastDeliverMs,
    };
  }
}

/** Starts tallying group messages of `spec.groupId` at `spec.members`; returns the stopper. */
export function listenGroup(
  spec: GroupListenSpec,
  clients: Map<string, WhaleSharkClient>,
  tally: ReceiveTally,
): () => void {
  const offs = spec.members.map((member) => {
    const client = clients.get(member);
    if (client === undefined) throw new Error(`group: ${member} is not open here`);
    return client.on("message", (m) => {
      if (m.kind !== "group" || m.fromSelf || m.message.groupId !== spec.groupId) return;
      const body = readBody(m.message.messageBody);
      if (body?.r === spec.runId) tally.record(member, body.n, body.t, m.synced);
    });
  });
  return () => {
    for (const off of offs) off();
  };
}

/** Sends group messages on a fixed schedule from one member; waits `drainMs` at most for ACKs. */
export async function sendGroup(
  spec: GroupSendSpec,
  clients: Map<string, WhaleSharkClient>,
  counters: AgentCounters,
): Promise<GroupSendResult> {
  const client = clients.get(spec.sender);
  if (client === undefined) throw new Error(`group: sender ${spec.sender} is not open here`);
  const ack = new Histogram();
  const failures: Record<string, number> = {};
  let [sent, acked, failed] = [0, 0, 0];
  const total = Math.max(1, Math.floor((spec.ratePerSec * spec.durationMs) / 1000));
  const sendStartMs = epochMs();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((epochMs() - sendStartMs) * spec.ratePerSec) / 1000) + 1);
    for (; sent < due; sent++) {
      const scheduled = sendStartMs + (sent * 1000) / spec.ratePerSec;
      counters.sent++;
      const messageBody = makeBody({ r: spec.runId, p: 0, n: sent, t: scheduled }, spec.bodyBytes);
      client.sendGroup({ groupId: spec.groupId, messageBody }).then(
        () => {
          ack.recordMs(epochMs() - scheduled);
          acked++;
          counters.acked++;
        },
        (error: unknown) => {
          failed++;
          counters.failed++;
          const key = failureKey(error);
          failures[key] = (failures[key] ?? 0) + 1;
        },
      );
    }
    await sleep(1);
  }
  const sendEndMs = epochMs();
  await waitUntil(() => acked + failed === sent, spec.drainMs);
  return { sent, acked, failures, ack: ack.toData(), sendStartMs, sendEndMs };
}
