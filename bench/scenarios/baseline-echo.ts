import { Histogram } from "../lib/histogram.js";
import { cpuShare, sampleProcess } from "../lib/proc-stats.js";
import type { P2PResult, RawEchoResult } from "../load/agent-protocol.js";
import type { AgentHandle } from "../load/agents.js";
import type { GatewayEndpoint } from "../target/target.js";
import { clientSpecs, importFriends, openOnAgents, r2, type ScenarioContext, userIds } from "./context.js";

/** Runs `work` and returns its result with the CPU share (%) process `pid` used meanwhile. */
export async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const before = sampleProcess(pid);
  const value = await work();
  const after = sampleProcess(pid);
  return { value, cpu: before && after ? r2(cpuShare(before, after) * 100) : 0 };
}

/** Echo totals of one target over its rounds. */
interface EchoTotals {
  completed: number;
  errors: number;
  elapsedMs: number;
  rtt: Histogram;
  cpu: number[];
}

function echoRow(label: string, t: EchoTotals, window: number, connections: number, bareRate: number) {
  const rtt = t.rtt.summary();
  const rate = t.completed / (t.elapsedMs / 1000);
  return {
    target: label,
    connections,
    window,
    "echoes/s": Math.round(rate),
    "RTT p50": rtt.p50Ms,
    "RTT p99": rtt.p99Ms,
    "RTT max": rtt.maxMs,
    errors: t.errors,
    "server CPU %": r2(t.cpu.reduce((a, b) => a + b, 0) / Math.max(1, t.cpu.length)),
    "vs bare": r2(rate / bareRate),
  };
}

/**
 * Echo through raw `ws` clients, closed loop: bare server and gateway-local (the gateway answers
 * 9006 itself) take turns for `rounds` rounds of duration/rounds each, so a change of load on the
 * shared machine hits both alike; then the SDK's 1103 → 1046 through the domain (`chatEcho`).
 */
export async function echoComparison(
  ctx: ScenarioContext,
  bare: { url: string; pid: number },
  gateway: GatewayEndpoint,
  rounds = 3,
): Promise<void> {
  const { options, target } = ctx;
  const agent = ctx.agents[0] as AgentHandle;
  const [C, W] = [options.connections, options.window];
  const perRound = Math.max(1_000, Math.round(options.durationMs / rounds));
  const echo = (kind: "bare" | "gateway-local", url: string) =>
    agent.request<RawEchoResult>({
      op: "raw-echo",
      spec: {
        target: kind,
        url,
        connections: C,
        window: W,
        durationMs: perRound,
        appId: target.app.appId,
        privateKey: target.app.privateKey,
        bodyBytes: options.bodyBytes,
      },
    });
  const empty = (): EchoTotals => ({ completed: 0, errors: 0, elapsedMs: 0, rtt: new Histogram(), cpu: [] });
  const totals = { bare: empty(), gateway: empty() };
  const add = (t: EchoTotals, r: { value: RawEchoResult; cpu: number }) => {
    t.completed += r.value.completed;
    t.errors += r.value.errors;
    t.elapsedMs += r.value.elapsedMs;
    t.rtt.merge(r.value.rtt);
    t.cpu.push(r.cpu);
  };
  const gwUrl = `ws://${gateway.host}:${gateway.wsPort}${gateway.wsPath}`;
  ctx.progress.note(
    `baseline: echo, ${C} connections × ${W} in flight, ${rounds} rounds of ${perRound / 1000} s`,
  );
  for (let i = 0; i < rounds; i++) {
    add(totals.bare, await withCpu(bare.pid, () => echo("bare", `${bare.url}/echo`)));
    add(totals.gateway, await withCpu(gateway.pid, () => echo("gateway-local", gwUrl)));
  }
  const bareRate = totals.bare.completed / (totals.bare.elapsedMs / 1000);
  const rows: Array<Record<string, string | number>> = [
    echoRow("bare ws", totals.bare, W, C, bareRate),
    echoRow("gateway-local (9006)", totals.gateway, W, C, bareRate),
  ];
  ctx.report.tables.push({ title: "echo (closed loop, RTT in ms)", rows });
  ctx.report.data.echo = {
    bare: { ...totals.bare, rtt: totals.bare.rtt.toData() },
    gatewayLocal: { ...totals.gateway, rtt: totals.gateway.rtt.toData() },
  };

  ctx.progress.note("baseline: echo through the domain (SDK 1103 → 1046, one in flight per sender)");
  const chat = await chatEcho(ctx, gateway).catch((error: unknown) => {
    ctx.report.notes.push(`gateway-chat echo failed: ${String(error)}`);
    return undefined;
  });
  if (chat === undefined) return;
  const v = chat.value;
  const failed = v.refused + v.ackTimeouts + v.otherFailures;
  rows.push(
    echoRow(
      "gateway-chat (1103→1046)",
      {
        completed: v.acked,
        errors: failed + v.lost,
        elapsedMs: v.sendEndMs - v.sendStartMs,
        rtt: Histogram.from(v.ack),
        cpu: [chat.cpu],
      },
      1,
      C,
      bareRate,
    ),
  );
  ctx.report.data.chatEcho = chat;
  if (failed + v.lost > 0) {
    ctx.report.notes.push(`gateway-chat echo: lost ${v.lost}, failures ${JSON.stringify(v.failures)}`);
  }
}

/**
 * SDK echo through the domain: `connections` senders, each with a peer on the same gateway, one
 * send in flight each. One, not `window`: the chat path is far slower than the transport, and
 * more in flight only pushes the RTT past the SDK's 2 s resend timer, whose resends then halve
 * the throughput measured.
 */
async function chatEcho(ctx: ScenarioContext, gateway: GatewayEndpoint) {
  const { options } = ctx;
  const senders = userIds(ctx, "es", options.connections);
  const peers = userIds(ctx, "ep", options.connections);
  const pairs = senders.map((s, i) => [s, peers[i]] as [string, string]);
  await importFriends(ctx, [...senders, ...peers], pairs);
  await openOnAgents(ctx, [clientSpecs(ctx, [...senders, ...peers], () => gateway, "ws")]);
  return withCpu(gateway.pid, () =>
    (ctx.agents[0] as AgentHandle).request<P2PResult>({
      op: "p2p",
      spec: {
        runId: `${ctx.runId}echo`,
        pairs,
        mode: "closed",
        ratePerSec: 0,
        window: 1,
        durationMs: options.durationMs,
        drainMs: options.drainMs,
        maxPendingPerSender: 1_000_000,
        bodyBytes: options.bodyBytes,
      },
    }),
  );
}
