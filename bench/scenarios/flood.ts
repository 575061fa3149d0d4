import { Histogram } from "../lib/histogram.js";
import type { FloodResult } from "../load/agent-protocol.js";
import { startAgents } from "../load/agents.js";
import type { GatewayEndpoint } from "../target/target.js";
import { importFriends, type ScenarioContext, userIds } from "./context.js";
import { openPairs, quiet, step } from "./p2p.js";
import { rows, type Step } from "./p2p-report.js";

/**
 * flood (issue 13 item 3, fairness): `--pairs` normal users send P2P at `--rate` in all (open loop,
 * each sender far under its own rate limit), once alone and once beside ONE flooding user: a raw
 * TCP connection in its own process that keeps `--flood` sends written and unanswered, as the
 * probe that pipelined 10,000 sends did. Reports the normal users' ACK and delivery percentiles
 * in both phases, and what the flood got: accepted, refused with 60006 (the gateway's send rate,
 * gateway.sendRate*), other codes.
 *
 * The target keeps the default send rates (bench.ts lifts them for the other scenarios); to see
 * the server without them, add `--server-env WHALESHARK_GATEWAY__SEND_RATE_PER_CONNECTION=0
 * --server-env WHALESHARK_GATEWAY__SEND_RATE_PER_USER=0`.
 */
export async function runFloodScenario(ctx: ScenarioContext): Promise<void> {
  const { options, target } = ctx;
  const senders = userIds(ctx, "s", options.pairs);
  const receivers = userIds(ctx, "r", options.pairs);
  const [flooder, floodTarget] = userIds(ctx, "f", 2) as [string, string];
  const pairs = senders.map((s, i) => [s, receivers[i]] as [string, string]);
  ctx.progress.note(`flood: importing ${2 * pairs.length + 2} users and ${pairs.length + 1} friendships`);
  await importFriends(
    ctx,
    [...senders, ...receivers, flooder, floodTarget],
    [...pairs, [flooder, floodTarget]],
  );
  const pairsPerAgent = await openPairs(ctx, senders, receivers, "flood");

  const [floodAgent] = startAgents(1); // its own process, whatever --workers says
  try {
    if (options.warmupMs > 0) {
      ctx.report.data.warmUp = await step(
        ctx,
        pairsPerAgent,
        "warm-up",
        Math.min(100, options.rate),
        options.warmupMs,
      );
      await quiet(ctx);
    }
    const alone = await step(ctx, pairsPerAgent, "without flood", options.rate, options.durationMs);
    await quiet(ctx);
    // The flooder sends to its friend on the first gateway, where the first senders are.
    const gw = target.gateways[0] as GatewayEndpoint;
    ctx.progress.note(`flood: ${options.flood} sends kept in flight by one connection`);
    const flooding = floodAgent?.request<FloodResult>({
      op: "flood",
      spec: {
        runId: `${ctx.runId}flood`,
        host: gw.host,
        tcpPort: gw.tcpPort,
        appId: target.app.appId,
        privateKey: target.app.privateKey,
        userId: flooder,
        toId: floodTarget,
        window: options.flood,
        // From the start of the measured step to its end.
        durationMs: options.durationMs,
        drainMs: options.drainMs,
        bodyBytes: options.bodyBytes,
      },
    });
    const beside = await step(ctx, pairsPerAgent, "with flood", options.rate, options.durationMs);
    const flood = (await flooding) as FloodResult;
    await quiet(ctx);
    report(ctx, [alone, beside], flood);
  } finally {
    await floodAgent?.close();
  }
}

function report(ctx: ScenarioContext, steps: Step[], flood: FloodResult): void {
  const table = steps.map((s) => rows(s));
  ctx.report.tables.push({
    title: `other users' P2P, ${ctx.options.pairs} senders at ${ctx.options.rate}/s in all (ms, from the scheduled send time)`,
    rows: table.map((t) => t.latency),
  });
  ctx.report.tables.push({ title: "other users' P2P: counts", rows: table.map((t) => t.counts) });
  ctx.report.tables.push({
    title: `the flooding connection (${ctx.options.flood} sends kept in flight)`,
    rows: [
      {
        written: flood.written,
        answered: flood.answered,
        accepted: flood.accepted,
        "refused 60006": flood.refused,
        other: flood.answered - flood.accepted - flood.refused,
        "accepted/s": flood.acceptedPerSec,
        "retryAfterMs max": flood.retryAfterMaxMs,
        "flood ms": flood.floodMs,
      },
    ],
  });
  const [alone, beside] = steps.map((s) => Histogram.from(s.result.ack).summary());
  ctx.report.notes.push(
    `other users' ACK p50/p99: ${alone?.p50Ms}/${alone?.p99Ms} ms alone, ${beside?.p50Ms}/${beside?.p99Ms} ms beside the flood`,
  );
  ctx.report.data.steps = steps;
  ctx.report.data.flood = flood;
}
