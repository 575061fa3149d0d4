import { readFileSync } from "node:fs";
import { sleep } from "../lib/clock.js";
import { scrapeHeap } from "../lib/heap-metrics.js";
import { cpuShare, type ProcSample, sampleProcess } from "../lib/proc-stats.js";
import { split } from "../load/agents.js";
import type { GatewayEndpoint } from "../target/target.js";
import { clientSpecs, openOnAgents, r2, type ScenarioContext, userIds, watch } from "./context.js";

const MIB = 1024 * 1024;

/** The soft open-files limit of a process (Linux), undefined when unknown. */
function openFilesLimit(pid: number): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A sample once RSS holds still (within 0.5 % over three one-second samples, 60 s at most): right
 * after start the process is still allocating and collecting (PGlite's migration in the embedded
 * profile frees hundreds of MiB), which would swamp the growth per connection.
 */
async function steadyRss(pid: number): Promise<ProcSample> {
  const samples: ProcSample[] = [];
  for (let i = 0; i < 60; i++) {
    await sleep(1_000);
    const s = sampleProcess(pid);
    if (s === undefined) throw new Error(`process ${pid} is gone`);
    samples.push(s);
    const last = samples.slice(-4).map((x) => x.rssBytes);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) <= 0.005 * Math.max(...last)) break;
  }
  return samples[samples.length - 1] as ProcSample;
}

/**
 * idle: `connections` clients log in to ONE gateway process and only heartbeat. Measures that
 * process's RSS (VmRSS from /proc, so the whole process: in the embedded profile the domain and
 * store share it, idle) before and after the logins and through the hold, the time to log
 * everybody in, and the CPU the process spends logging them in and then keeping them (PINGs,
 * session renewals). Memory per connection is the growth from the settled baseline (after a
 * warm-up) to the end of the hold, and to the highest RSS seen, over the connection count; the
 * V8 heap in use (from `/metrics`, garbage included) is given beside it.
 */
export async function runIdle(ctx: ScenarioContext): Promise<void> {
  const { options, target } = ctx;
  const gateway = target.gateways[0] as GatewayEndpoint;
  const n = options.connections;
  const limit = openFilesLimit(gateway.pid);
  if (limit !== undefined && n > limit - 200) {
    ctx.report.notes.push(
      `the gateway process may hold at most ${limit} open files (ulimit -n); ${n} connections will not all fit`,
    );
  }
  const users = userIds(ctx, "idle", n);
  const specs = clientSpecs(ctx, users, () => gateway);
  // Warm-up: log a fifth of the same users in and out, so start-up garbage (the embedded PGlite
  // migration frees hundreds of MiB) is collected and code is compiled before the baseline. The
  // same users log in again below, overwriting their session records instead of adding to them.
  const warm = Math.min(2_000, Math.ceil(n / 5));
  ctx.progress.note(`idle: warm-up with ${warm} connections`);
  await openOnAgents(ctx, split(specs.slice(0, warm), ctx.agents.length));
  await Promise.all(ctx.agents.map((a) => a.request({ op: "disconnect" })));
  ctx.progress.note("idle: waiting for the server's RSS to settle");
  const before = await steadyRss(gateway.pid);
  const heapBefore = await scrapeHeap(gateway.metricsPort);
  ctx.progress.note(`idle: ${n} ${options.transport} connections to ${gateway.name} (pid ${gateway.pid})`);
  const opened = await openOnAgents(ctx, split(specs, ctx.agents.length));
  const afterLogin = sampleProcess(gateway.pid) as ProcSample;
  await sleep(5_000); // settle: late session writes, GC
  const holdStart = sampleProcess(gateway.pid) as ProcSample;
  let peakRss = holdStart.rssBytes;
  const dropsBefore = ctx.agents.reduce((d, a) => d + a.counters().dropped, 0);
  await watch(
    ctx,
    (async () => {
      const until = performance.now() + options.holdMs;
      while (performance.now() < until) {
        await sleep(1_000);
        peakRss = Math.max(peakRss, sampleProcess(gateway.pid)?.rssBytes ?? 0);
      }
    })(),
    (c, s) =>
      `hold ${Math.round(s)}/${options.holdMs / 1000}s: ${opened.opened} connected, ${c.dropped} dropped, ` +
      `gateway RSS ${Math.round(peakRss / MIB)} MiB`,
  );
  const holdEnd = sampleProcess(gateway.pid) as ProcSample;
  const heapAfter = await scrapeHeap(gateway.metricsPort);
  const dropped = ctx.agents.reduce((d, a) => d + a.counters().dropped, 0) - dropsBefore;
  const perConn = (rss: number) => (opened.opened > 0 ? (rss - before.rssBytes) / opened.opened / 1024 : 0);
  const loginSeconds = opened.elapsedMs / 1000;
  const row = {
    transport: options.transport,
    connections: opened.opened,
    failed: opened.failed,
    "dropped in hold": dropped,
    "login s": r2(loginSeconds),
    "logins/s": Math.round(opened.opened / Math.max(loginSeconds, 0.001)),
    "RSS before MiB": r2(before.rssBytes / MIB),
    "RSS after MiB": r2(holdEnd.rssBytes / MIB),
    "peak RSS MiB": r2(peakRss / MIB),
    "KiB/conn": r2(perConn(holdEnd.rssBytes)),
    "KiB/conn at peak": r2(perConn(peakRss)),
    "heap KiB/conn":
      heapBefore && heapAfter && opened.opened > 0
        ? r2((heapAfter.heapUsedBytes - heapBefore.heapUsedBytes) / opened.opened / 1024)
        : "n/a",
    "CPU login %": Math.round(cpuShare(before, afterLogin) * 100),
    "CPU idle %": r2(cpuShare(holdStart, holdEnd) * 100),
  };
  ctx.report.tables.push({
    title: `idle ${options.transport} connections on one gateway process`,
    rows: [row],
  });
  ctx.report.data.idle = {
    before,
    afterLogin,
    holdStart,
    holdEnd,
    peakRss,
    heapBefore,
    heapAfter,
    opened,
    dropped,
    openFilesLimit: limit,
  };
  ctx.report.data.loadGenerators = ctx.agents.map((a) => (a.pid === undefined ? process.pid : a.pid));
}
