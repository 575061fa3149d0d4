import type { GatewayEndpoint } from "../target/target.js";
import { clientSpecs, importFriends, openOnAgents, type ScenarioContext, userIds } from "./context.js";
import { quiet, type StepShape, step } from "./p2p.js";
import { rows } from "./p2p-report.js";

/**
 * one-conn: ONE sending connection (one SDK client, send window `--window` = its maxInFlight)
 * sends P2P messages to `--conversations` receivers in turn, each receiver its own conversation
 * (a friend of the sender, on the next gateway). With `--rate 0` (the default) it keeps `window`
 * sends in flight (closed loop: as fast as the window allows; ACK latency from the call); with a
 * rate it sends on a fixed schedule (latencies from the scheduled time) and sends past the window
 * wait in the SDK's queue. After the `--warmup` at 100/s, one measured run of `--duration`;
 * reports ACKed sends a second, ACK and delivery percentiles, and per conversation what was lost,
 * duplicated or delivered out of order (by send order and by messageSequence). All clients live
 * in the first load agent, so send and delivery times come from one clock.
 */
export async function runOneConnScenario(ctx: ScenarioContext): Promise<void> {
  const { options, target } = ctx;
  const [sender] = userIds(ctx, "o", 1) as [string];
  const receivers = userIds(ctx, "c", options.conversations);
  const pairs = receivers.map((r) => [sender, r] as [string, string]);
  ctx.progress.note(`one-conn: importing ${1 + receivers.length} users and ${pairs.length} friendships`);
  await importFriends(ctx, [sender, ...receivers], pairs);
  const gws = target.gateways;
  // The sender on the first gateway, receiver i on gateway i + 1 (mod the gateway count).
  const specs = clientSpecs(ctx, [sender, ...receivers], (i) => gws[i % gws.length] as GatewayEndpoint);
  ctx.progress.note(
    `one-conn: 1 sender (window ${options.window}) → ${receivers.length} receivers over ${gws.length} gateway(s)`,
  );
  await openOnAgents(ctx, [specs], { maxInFlight: options.window });

  if (options.warmupMs > 0) {
    ctx.report.data.warmUp = await step(ctx, [pairs], "warm-up", 100, options.warmupMs);
    await quiet(ctx);
  }
  const shape: StepShape =
    options.rate > 0
      ? { mode: "open", maxPendingPerSender: Math.max(1000, 4 * options.window) }
      : { mode: "closed", window: options.window };
  const s = await step(ctx, [pairs], "one-conn", options.rate, options.durationMs, shape);
  await quiet(ctx);
  const r = s.result;
  const { latency, counts } = rows(s, {
    conversations: receivers.length,
    window: options.window,
    "offered/s": options.rate > 0 ? options.rate : "max",
    "acked/s": Math.round(r.acked / Math.max(0.001, (r.lastAckMs - r.sendStartMs) / 1000)),
  });
  const mode = options.rate > 0 ? "from the scheduled send time" : "from the send call";
  ctx.report.tables.push({ title: `one connection: latency (ms, ${mode})`, rows: [latency] });
  ctx.report.tables.push({ title: "one connection: counts (order per conversation)", rows: [counts] });
  ctx.report.data.step = s;
}
