import { sleep, waitUntil } from "../lib/clock.js";
import { Histogram } from "../lib/histogram.js";
import type { GroupSendResult, ReceiveResult } from "../load/agent-protocol.js";
import { totalCounters } from "../load/agents.js";
import { type ScenarioContext, watch } from "./context.js";

/** What a fan-out measurement (group message or bare broadcast) found, merged over the agents. */
export interface FanOutResult {
  sent: number;
  acked: number;
  /** Sends refused or timed out, by reason. */
  failures: Record<string, number>;
  receivers: number;
  /** acked × receivers. */
  expected: number;
  delivered: number;
  /** Of those, fetched by the SDK's catch-up instead of pushed live. */
  viaSync: number;
  duplicated: number;
  /** expected − delivered. */
  lost: number;
  deliver: Histogram;
  /** Per message: send → the last of its receivers got it. */
  allDelivered: Histogram;
  ack: Histogram;
  deliveriesPerSec: number;
  /** Receiving connections that closed during the measurement (their messages count as lost). */
  dropped: number;
}

/** Merges what every agent's listeners received, for the acked messages to `receivers` each. */
export function mergeFanOut(
  send: GroupSendResult,
  received: ReceiveResult[],
  receivers: number,
): FanOutResult {
  const deliver = new Histogram();
  const perMessage = new Map<string, { count: number; maxMs: number }>();
  for (const r of received) {
    deliver.merge(r.deliver);
    for (const [n, m] of Object.entries(r.perMessage)) {
      const x = perMessage.get(n) ?? { count: 0, maxMs: 0 };
      perMessage.set(n, { count: x.count + m.count, maxMs: Math.max(x.maxMs, m.maxMs) });
    }
  }
  const allDelivered = new Histogram();
  for (const m of perMessage.values()) if (m.count >= receivers) allDelivered.recordMs(m.maxMs);
  const delivered = received.reduce((n, r) => n + r.delivered, 0);
  const lastDeliverMs = Math.max(0, ...received.map((r) => r.lastDeliverMs));
  const seconds = Math.max(0.001, (lastDeliverMs - send.sendStartMs) / 1000);
  return {
    sent: send.sent,
    acked: send.acked,
    failures: send.failures,
    receivers,
    expected: send.acked * receivers,
    delivered,
    viaSync: received.reduce((n, r) => n + r.viaSync, 0),
    duplicated: received.reduce((n, r) => n + r.duplicated, 0),
    lost: Math.max(0, send.acked * receivers - delivered),
    deliver,
    allDelivered,
    ack: Histogram.from(send.ack),
    deliveriesPerSec: Math.round(delivered / seconds),
    dropped: 0,
  };
}

/** One table row of a fan-out result (latencies in ms). */
export function fanOutRow(label: string, rate: number, f: FanOutResult): Record<string, string | number> {
  const d = f.deliver.summary();
  const all = f.allDelivered.summary();
  const failed = Object.values(f.failures).reduce((a, b) => a + b, 0);
  return {
    run: label,
    receivers: f.receivers,
    "msgs/s": rate,
    sent: f.sent,
    acked: f.acked,
    failed,
    unacked: f.sent - f.acked - failed,
    delivered: f.delivered,
    "via sync": f.viaSync,
    lost: f.lost,
    dropped: f.dropped,
    duplicated: f.duplicated,
    "deliveries/s": f.deliveriesPerSec,
    "deliver p50": d.p50Ms,
    "deliver p90": d.p90Ms,
    "deliver p99": d.p99Ms,
    "deliver max": d.maxMs,
    "all-delivered p99": all.p99Ms,
  };
}

/** The result in JSON form (histograms transferable). */
export function fanOutData(f: FanOutResult): Record<string, unknown> {
  return { ...f, deliver: f.deliver.toData(), allDelivered: f.allDelivered.toData(), ack: f.ack.toData() };
}

/**
 * Runs `send` (group messages from one member, or raw broadcast frames) while every agent tallies
 * what its listeners receive; waits for all `receivers` × acked deliveries (or the drain time),
 * then collects and merges the tallies.
 */
export async function measureFanOut(
  ctx: ScenarioContext,
  send: () => Promise<GroupSendResult>,
  receivers: number,
  label: string,
  collect: "group-collect" | "raw-collect",
): Promise<FanOutResult> {
  const before = totalCounters(ctx.agents);
  const result = await watch(
    ctx,
    send(),
    (c, s) => `${label} ${Math.round(s)}s: sent ${c.sent} delivered ${c.delivered}`,
  );
  const deliveredSince = () => totalCounters(ctx.agents).delivered - before.delivered;
  await watch(
    ctx,
    waitUntil(() => deliveredSince() >= result.acked * receivers, ctx.options.drainMs),
    () => `${label} draining: delivered ${deliveredSince()} of ${result.acked * receivers}`,
  );
  await sleep(200); // a duplicate arriving late is still counted
  const received = await Promise.all(ctx.agents.map((a) => a.request<ReceiveResult>({ op: collect })));
  return {
    ...mergeFanOut(result, received, receivers),
    dropped: totalCounters(ctx.agents).dropped - before.dropped,
  };
}
