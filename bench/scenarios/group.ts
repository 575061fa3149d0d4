import { importGroup, importUsers } from "../../lib/app-client/index.js";
import type { GroupSendResult } from "../load/agent-protocol.js";
import { type AgentHandle, split } from "../load/agents.js";
import { type GatewayEndpoint, SETUP_PARALLEL } from "../target/target.js";
import { clientSpecs, openOnAgents, type ScenarioContext, startCpuMeter, total, userIds } from "./context.js";
import { fanOutData, fanOutRow, measureFanOut } from "./fan-out.js";

/**
 * group: one group of `members` (imported through GroupService / GroupMemberService as the app
 * admin), `online` of them connected, spread over the gateways; member 0 sends `rate` group
 * messages a second for `duration`. Reports deliveries per second, send→deliver percentiles
 * over every delivery, and per message the time until the last online member had it.
 */
export async function runGroupScenario(ctx: ScenarioContext): Promise<void> {
  const { options, target } = ctx;
  const members = userIds(ctx, "m", options.members);
  const online = members.slice(0, Math.min(options.online, members.length));
  const groupId = `bench-${ctx.runId}`;
  ctx.progress.note(`group: importing ${members.length} users and group ${groupId}`);
  const admin = target.admin();
  try {
    await importUsers(admin, members, { parallel: SETUP_PARALLEL, requireAll: true });
    await importGroup(admin, { groupId, ownerId: members[0] as string, memberIds: members });
  } finally {
    admin.close();
  }
  const gws = target.gateways;
  const specs = clientSpecs(ctx, online, (i) => gws[i % gws.length] as GatewayEndpoint);
  const parts = split(specs, ctx.agents.length);
  ctx.progress.note(
    `group: ${online.length} of ${members.length} members online on ${gws.length} gateway(s)`,
  );
  await openOnAgents(ctx, parts);
  const sender = online[0] as string;
  const listen = async (runId: string) => {
    await Promise.all(
      parts.map((p, i) =>
        ctx.agents[i]?.request({
          op: "group-listen",
          spec: { runId, groupId, members: p.map((s) => s.userId).filter((u) => u !== sender) },
        }),
      ),
    );
  };
  const sendWith = (runId: string, rate: number, durationMs: number) => () =>
    (ctx.agents[0] as AgentHandle).request<GroupSendResult>({
      op: "group-send",
      spec: {
        runId,
        groupId,
        sender,
        ratePerSec: rate,
        durationMs,
        drainMs: options.drainMs,
        bodyBytes: options.bodyBytes,
      },
    });
  const receivers = online.length - 1;
  await listen(`${ctx.runId}w`);
  const warm = await measureFanOut(
    ctx,
    sendWith(`${ctx.runId}w`, 1, 3_000),
    receivers,
    "warm-up",
    "group-collect",
  );
  ctx.report.data.warmUp = fanOutRow("warm-up", 1, warm);
  if (warm.delivered === 0) {
    ctx.report.notes.push("group: the warm-up messages reached nobody (see the client problems below)");
  }

  await listen(`${ctx.runId}m`);
  const meter = startCpuMeter(ctx);
  const f = await measureFanOut(
    ctx,
    sendWith(`${ctx.runId}m`, options.rate, options.durationMs),
    receivers,
    "group",
    "group-collect",
  );
  const cpu = meter();
  ctx.report.tables.push({
    title: `group of ${members.length}, ${online.length} online, sender ${sender} (ms from the scheduled send time)`,
    rows: [
      {
        ...fanOutRow(`${members.length}/${online.length}`, options.rate, f),
        "server CPU %": total(cpu.servers),
        ...(Object.keys(cpu.infra).length > 0 ? { "infra CPU %": total(cpu.infra) } : {}),
        "generator CPU %": cpu.generator,
      },
    ],
  });
  ctx.report.data.group = { ...fanOutData(f), cpu };
  if (f.lost > 0 || f.acked < f.sent) {
    ctx.report.notes.push(
      `group: lost ${f.lost}, ${f.sent - f.acked} sends not ACKed, failures ${JSON.stringify(f.failures)}`,
    );
  }
}
