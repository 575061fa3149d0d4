import { Histogram } from "../lib/histogram.js";
import type { P2PResult } from "../load/agent-protocol.js";
import { type CpuUse, r2, total } from "./context.js";

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

/** Delivered messages a second over a step: from its first send to its last delivery. */
export function deliveredPerSecond(r: P2PResult): number {
  return r.delivered / Math.max(0.001, (r.lastDeliverMs - r.sendStartMs) / 1000);
}

/**
 * CPU milliseconds the servers and the infrastructure spent per delivered message: CPU % (of one
 * core: 100 % = 1 000 ms a second) × 10 / delivered per second. Undefined when nothing was delivered.
 */
export function cpuMsPerMessage(cpu: CpuUse, deliveredPerSec: number): number | undefined {
  if (!(deliveredPerSec > 0)) return undefined;
  return r2(((total(cpu.servers) + total(cpu.infra)) * 10) / deliveredPerSec);
}

/** The columns a row starts with (default: the phase and its offered rate). */
export type RowLead = Record<string, string | number>;

/** The step as a latency row and a counts row, each starting with `lead`. */
export function rows(s: Step, lead: RowLead = { phase: s.phase, "offered/s": s.rate }) {
  const ack = Histogram.from(s.result.ack).summary();
  const del = Histogram.from(s.result.deliver).summary();
  const perSecond = deliveredPerSecond(s.result);
  const verdict = s.failedBecause.length === 0 ? "sustained" : s.failedBecause.join("; ");
  const cpuPerMessage = cpuMsPerMessage(s.cpu, perSecond);
  const latency = {
    ...lead,
    "delivered/s": Math.round(perSecond),
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
    ...lead,
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
    ...(cpuPerMessage === undefined ? {} : { "CPU ms/msg": cpuPerMessage }),
    "generator CPU %": s.cpu.generator,
  };
  return { latency, counts };
}
