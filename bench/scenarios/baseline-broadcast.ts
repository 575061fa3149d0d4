import { importGroup, importUsers } from "../../lib/app-client/index.js";
import { Histogram } from "../lib/histogram.js";
import type { GroupSendResult } from "../load/agent-protocol.js";
import { type AgentHandle, split } from "../load/agents.js";
import { type GatewayEndpoint, SETUP_PARALLEL } from "../target/target.js";
import { withCpu } from "./baseline-echo.js";
import { clientSpecs, openOnAgents, r2, type ScenarioContext, userIds } from "./context.js";
import { fanOutData, fanOutRow, measureFanOut } from "./fan-out.js";

/**
 * Broadcast, open loop at `rate` msgs/s for `duration`: the bare server relaying each frame to
 * `online` raw listeners, then a group message to a group of `online` + 1 members, all connected
 * to the gateway. Same receivers, rate and body size; deliveries per second give the ratio.
 */
export async function broadcastComparison(
  ctx: ScenarioContext,
  bare: { url: string; pid: number },
  gateway: GatewayEndpoint,
): Promise<void> {
  const { options, agents } = ctx;
  const [K, R] = [options.online, options.rate];
  ctx.progress.note(`baseline: broadcast, ${R} msgs/s to ${K} receivers for ${options.durationMs / 1000} s`);
  const url = `${bare.url}/broadcast`;
  const listeners = split(
    Array.from({ length: K }, (_, i) => i),
    agents.length,
  );
  await Promise.all(
    listeners.map((part, i) =>
      agents[i]?.request({ op: "raw-listen", spec: { url, connections: part.length } }),
    ),
  );
  const sender = agents[0] as AgentHandle;
  const rawSend = async (): Promise<GroupSendResult> => {
    const { sent, sendStartMs } = await sender.request<{ sent: number; sendStartMs: number }>({
      op: "raw-send",
      spec: { url, ratePerSec: R, durationMs: options.durationMs, bodyBytes: options.bodyBytes },
    });
    // The bare server has no ACK: every frame written counts as accepted.
    return { sent, acked: sent, failures: {}, ack: new Histogram().toData(), sendStartMs, sendEndMs: 0 };
  };
  const b = await withCpu(bare.pid, () => measureFanOut(ctx, rawSend, K, "bare broadcast", "raw-collect"));
  const rows: Array<Record<string, string | number>> = [
    { ...fanOutRow("bare ws", R, b.value), "server CPU %": b.cpu, "vs bare": 1 },
  ];
  ctx.report.tables.push({ title: "broadcast (open loop, ms from the scheduled send time)", rows });
  ctx.report.data.bareBroadcast = { ...fanOutData(b.value), cpu: b.cpu };

  const members = userIds(ctx, "b", K + 1);
  const groupId = `bench-bcast-${ctx.runId}`;
  const runId = `${ctx.runId}bc`;
  try {
    const admin = ctx.target.admin();
    try {
      await importUsers(admin, members, { parallel: SETUP_PARALLEL, requireAll: true });
      await importGroup(admin, { groupId, ownerId: members[0] as string, memberIds: members });
    } finally {
      admin.close();
    }
    await openOnAgents(
      ctx,
      split(
        clientSpecs(ctx, members, () => gateway, "ws"),
        agents.length,
      ),
    );
    await Promise.all(
      split(members, agents.length).map((part, i) =>
        agents[i]?.request({
          op: "group-listen",
          spec: { runId, groupId, members: part.filter((m) => m !== members[0]) },
        }),
      ),
    );
    const send = () =>
      sender.request<GroupSendResult>({
        op: "group-send",
        spec: {
          runId,
          groupId,
          sender: members[0] as string,
          ratePerSec: R,
          durationMs: options.durationMs,
          drainMs: options.drainMs,
          bodyBytes: options.bodyBytes,
        },
      });
    const g = await withCpu(gateway.pid, () =>
      measureFanOut(ctx, send, K, "group broadcast", "group-collect"),
    );
    rows.push({
      ...fanOutRow("gateway group", R, g.value),
      "server CPU %": g.cpu,
      "vs bare": r2(g.value.deliveriesPerSec / Math.max(1, b.value.deliveriesPerSec)),
    });
    ctx.report.data.groupBroadcast = { ...fanOutData(g.value), cpu: g.cpu };
    if (g.value.lost > 0 || g.value.acked < g.value.sent) {
      ctx.report.notes.push(
        `gateway group broadcast: lost ${g.value.lost}, ${g.value.sent - g.value.acked} sends not ACKed ` +
          `within the drain time, failures ${JSON.stringify(g.value.failures)}`,
      );
    }
  } catch (error) {
    ctx.report.notes.push(`gateway group broadcast failed: ${String(error)}`);
  }
}
