import { waitUntil } from "../lib/clock.js";
import { Histogram } from "../lib/histogram.js";
import type { ClientSpec, P2PResult, P2PSpec } from "../load/agent-protocol.js";
import { split, totalCounters } from "../load/agents.js";
import type { GatewayEndpoint } from "../target/target.js";
import {
  clientSpecs,
  importFriends,
  openOnAgents,
  type ScenarioContext,
  startCpuMeter,
  userIds,
  watch,
} from "./context.js";
import { deliveredPerSecond, merge, rows, type Step } from "./p2p-report.js";

/** How a step sends: P2PSpec fields beyond the defaults (open loop, 1000 pending per sender). */
export type StepShape = Partial<Pick<P2PSpec, "mode" | "window" | "maxPendingPerSender">>;

/**
 * Runs one step over every agent's pairs: open loop at `rate` msgs/s unless `shape` says otherwise
 * (closed: `window` in flight per sender, `rate` is then only the verdict's yardstick, 0 = none).
 */
export async function step(
  ctx: ScenarioContext,
  pairsPerAgent: Array<Array<[string, string]>>,
  phase: string,
  rate: number,
  durationMs: number,
  shape: StepShape = {},
): Promise<Step> {
  const maxPending = shape.maxPendingPerSender ?? 1000;
  const total = pairsPerAgent.reduce((n, p) => n + p.length, 0);
  const runId = `${ctx.runId}${phase.replace(/\W/g, "")}`;
  const meter = startCpuMeter(ctx);
  const results = await watch(
    ctx,
    Promise.all(
      pairsPerAgent.map((pairs, i) =>
        ctx.agents[i]?.request<P2PResult>({
          op: "p2p",
          spec: {
            runId,
            pairs,
            mode: "open",
            ratePerSec: (rate * pairs.length) / total,
            window: 1,
            durationMs,
            drainMs: ctx.options.drainMs,
            maxPendingPerSender: maxPending,
            bodyBytes: ctx.options.bodyBytes,
            ...shape,
          },
        }),
      ),
    ),
    (c, s) =>
      `${phase} @ ${shape.mode === "closed" ? `${shape.window ?? 1} in flight` : `${rate}/s`}, ${Math.round(s)}s: sent ${c.sent} acked ${c.acked} delivered ${c.delivered} ` +
      `failed ${c.failed} dropped ${c.dropped}`,
  );
  const result = merge(results as P2PResult[]);
  const cpu = meter();
  const deliverP99 = Histogram.from(result.deliver).quantileMs(0.99);
  const perSecond = deliveredPerSecond(result);
  const failedBecause = [
    result.lost > 0 ? `lost ${result.lost}` : "",
    result.unacked > 0 ? `unacked ${result.unacked}` : "",
    result.refused + result.ackTimeouts + result.otherFailures > 0
      ? `failed ${JSON.stringify(result.failures)}`
      : "",
    result.skipped > 0 ? `skipped ${result.skipped} (${maxPending} pending per sender)` : "",
    result.delivered < result.offered ? `delivered ${result.delivered} of ${result.offered}` : "",
    deliverP99 > ctx.options.sloMs ? `p99 deliver ${Math.round(deliverP99)} ms > ${ctx.options.sloMs}` : "",
    perSecond < 0.95 * rate ? `delivered ${Math.round(perSecond)}/s` : "",
  ].filter((s) => s !== "");
  return { phase, rate, result, cpu, failedBecause };
}

/** `n` rounded to two significant digits (ramp steps: 100, 150, 230, 340, …). */
export function nice(n: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 1);
  return Math.round(n / unit) * unit;
}

/**
 * Waits (up to a minute) until every send of the last step is settled, ACKed or failed: an
 * overloaded step leaves a backlog, and the SDK keeps resending, which the next step must not pay.
 */
export async function quiet(ctx: ScenarioContext): Promise<void> {
  const settled = () => {
    const c = totalCounters(ctx.agents);
    return c.acked + c.failed >= c.sent;
  };
  if (settled()) return;
  await watch(
    ctx,
    waitUntil(settled, 60_000),
    (c) => `settling the backlog: ${c.acked + c.failed} more answered`,
  );
}

/**
 * Logs in `senders[i]` and `receivers[i]` as pair i (senders on one gateway, their receivers on the
 * next, spread over the agents) and returns each agent's pairs, for {@link step}.
 */
export async function openPairs(
  ctx: ScenarioContext,
  senders: string[],
  receivers: string[],
  label: string,
): Promise<Array<Array<[string, string]>>> {
  const gws = ctx.target.gateways;
  const pairs = senders.map((s, i) => [s, receivers[i]] as [string, string]);
  const on = (offset: number) => (i: number) => gws[(i + offset) % gws.length] as GatewayEndpoint;
  const senderSpecs = clientSpecs(ctx, senders, on(0));
  const receiverSpecs = clientSpecs(ctx, receivers, on(1));
  const indexParts = split(
    pairs.map((_, i) => i),
    ctx.agents.length,
  );
  const specsPerAgent: ClientSpec[][] = indexParts.map((idx) =>
    idx.flatMap((i) => [senderSpecs[i] as ClientSpec, receiverSpecs[i] as ClientSpec]),
  );
  ctx.progress.note(
    `${label}: ${2 * pairs.length} clients over ${gws.length} gateway(s), ${ctx.agents.length} agent(s)`,
  );
  await openOnAgents(ctx, specsPerAgent);
  return indexParts.map((idx) => idx.map((i) => pairs[i] as [string, string]));
}

/**
 * p2p: `pairs` senders each send to their own receiver (created with a friendship both ways, so
 * the default send checks pass), open loop. A warm-up at 100/s (`--warmup`, 3 s), then the fixed rate for
 * `duration`, then a ramp from `rampStart` up by `rampFactor` per `step` until a step is not
 * sustained (see `step`: nothing lost or failed, p99 send→deliver within `sloMs`, ≥ 95 % of the
 * offered rate delivered). Latencies are in ms from the scheduled send time.
 */
export async function runP2PScenario(ctx: ScenarioContext): Promise<void> {
  const { options } = ctx;
  const senders = userIds(ctx, "s", options.pairs);
  const receivers = userIds(ctx, "r", options.pairs);
  const pairs = senders.map((s, i) => [s, receivers[i]] as [string, string]);
  ctx.progress.note(`p2p: importing ${2 * pairs.length} users and ${pairs.length} friendships`);
  await importFriends(ctx, [...senders, ...receivers], pairs);
  const pairsPerAgent = await openPairs(ctx, senders, receivers, "p2p");

  const steps: Step[] = [];
  const measure = async (phase: string, rate: number, durationMs: number) => {
    const s = await step(ctx, pairsPerAgent, phase, rate, durationMs);
    await quiet(ctx);
    return s;
  };
  ctx.report.data.warmUp = await measure("warm-up", Math.min(100, options.rate || 100), options.warmupMs);
  if (options.phases.includes("fixed")) steps.push(await measure("fixed", options.rate, options.durationMs));
  let best: number | undefined;
  if (options.phases.includes("ramp")) {
    for (let rate = options.rampStart; rate <= options.rampMax; rate = nice(rate * options.rampFactor)) {
      const s = await measure(`ramp ${rate}`, rate, options.stepMs);
      steps.push(s);
      ctx.progress.note(
        `${s.phase}: ${s.failedBecause.length === 0 ? "sustained" : s.failedBecause.join("; ")}`,
      );
      if (s.failedBecause.length > 0) break;
      best = rate;
    }
    ctx.report.notes.push(
      best === undefined
        ? `ramp: not even ${options.rampStart}/s was sustained`
        : `ramp: highest sustained rate ${best} msgs/s (steps of ${options.stepMs / 1000} s)`,
    );
  }
  const table = steps.map((s) => rows(s));
  ctx.report.tables.push({
    title: "p2p latency (ms, from the scheduled send time)",
    rows: table.map((t) => t.latency),
  });
  ctx.report.tables.push({ title: "p2p counts", rows: table.map((t) => t.counts) });
  ctx.report.data.steps = steps;
  ctx.report.data.highestSustained = best;
}
