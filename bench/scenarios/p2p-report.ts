import { Histogram } from "../lib/histogram.js";
import type { P2PResult } from "../load/agent-protocol.js";
import { type CpuUse, total } from "./context.js";

/** One measured P2P step, merged over the agents. */
export interface Step {
  phase: string;
  rate: number;
  result: P2PResult;
  cpu: CpuUse;
  /** Why the step does not count as sustained; empty when it does. */
  failedBecause: string[];
}

/** Adds up the agents' results of one step (counts summed, histograms merged). */
export function merge(results: P2PResult[]): P2PResult {
  const first = results[0] as P2PResult;
  const sum = (k: keyof P2PResult) => results.reduce((n, r) => n + (r[k] as number), 0);
  const hist = (k: "ack" | "deliver" | "sendLag") => {
    const h = new Histogram();
    for (const r of results) h.merge(r[k]);
    return h.toData();
  };
  const failures: Record<string, number> = {};
  for (const r of results)
    for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    ...first,
    offered: sum("offered"),
    sent: sum("sent"),
    skipped: sum("skipped"),
    acked: sum("acked"),
    refused: sum("refused"),
    ackTimeouts: sum("ackTimeouts"),
    otherFailures: sum("otherFailures"),
    failures,
    delivered: sum("delivered"),
    viaSync: sum("viaSync"),
    duplicated: sum("duplicated"),
    outOfOrder: sum("outOfOrder"),
    sequenceOutOfOrder: sum("sequenceOutOfOrder"),
    lost: sum("lost"),
    unacked: sum("unacked"),
    ack: hist("ack"),
    deliver: hist("deliver"),
    sendLag: hist("sendLag"),
    sendStartMs: Math.min(...results.map((r) => r.sendStartMs)),
    sendEndMs: Math.max(...results.map((r) => r.sendEndMs)),
    lastAckMs: Math.max(...results.map((r) => r.lastAckMs)),
    lastDeliverMs: Math.max(...results.map((r) => r.lastDeliverMs)),
  };
}

/** The step as a latency row and a counts row. */
export function rows(s: Step) {
  const ack = Histogram.from(s.result.ack).summary();
  const del = Histogram.from(s.result.deliver).summary();
  const seconds = Math.max(0.001, (s.result.lastDeliverMs - s.result.sendStartMs) / 1000);
  const verdict = s.failedBecause.length === 0 ? "sustained" : s.failedBecause.join("; ");
  const latency = {
    phase: s.phase,
    "offered/s": s.rate,
    "delivered/s": Math.round(s.result.delivered / seconds),
    "ACK p50": ack.p50Ms,
    "ACK p90": ack.p90Ms,
    "ACK p99": ack.p99Ms,
    "ACK max": ack.maxMs,
    "deliver p50": del.p50Ms,
    "deliver p90": del.p90Ms,
    "deliver p99": del.p99Ms,
    "deliver max": del.maxMs,
    verdict,
  };
  const counts = {
    phase: s.phase,
    "offered/s": s.rate,
    sent: s.result.sent,
    acked: s.result.acked,
    delivered: s.result.delivered,
    "via sync": s.result.viaSync,
    lost: s.result.lost,
    duplicated: s.result.duplicated,
    "out of order": s.result.outOfOrder,
    "seq out of order": s.result.sequenceOutOfOrder,
    unacked: s.result.unacked,
    failed: s.result.refused + s.result.ackTimeouts + s.result.otherFailures,
    skipped: s.result.skipped,
    "send lag p99 ms": Histogram.from(s.result.sendLag).summary().p99Ms,
    "server CPU %": total(s.cpu.servers),
    ...(Object.keys(s.cpu.infra).length > 0 ? { "infra CPU %": total(s.cpu.infra) } : {}),
    "generator CPU %": s.cpu.generator,
  };
  return { latency, counts };
}
