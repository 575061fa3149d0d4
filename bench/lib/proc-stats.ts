import { readdirSync, readFileSync } from "node:fs";

/** Resident memory and CPU time of one process, read from Linux /proc. */
export interface ProcSample {
  /** When the sample was taken (ms, performance clock). */
  atMs: number;
  /** VmRSS, bytes. */
  rssBytes: number;
  /** utime + stime, ms of CPU. */
  cpuMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux Node supports. */
const USER_HZ = 100;

/**
 * Samples a process (Linux only): VmRSS from /proc/<pid>/status and utime + stime from
 * /proc/<pid>/stat. Undefined when the process is gone or /proc is unavailable.
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (rss === null || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return {
      atMs: performance.now(),
      rssBytes: Number(rss[1]) * 1024,
      cpuMs: ((utime + stime) * 1000) / USER_HZ,
    };
  } catch {
    return undefined;
  }
}

/** CPU used between two samples as a share of one core (1 = one core busy all the time). */
export function cpuShare(from: ProcSample, to: ProcSample): number {
  const wall = to.atMs - from.atMs;
  return wall > 0 ? (to.cpuMs - from.cpuMs) / wall : 0;
}

/** The 1, 5 and 15 minute load averages (os.loadavg is the same; this keeps the source explicit). */
export function loadAverage(): [number, number, number] {
  try {
    const [a = "0", b = "0", c = "0"] = readFileSync("/proc/loadavg", "utf8").split(" ");
    return [Number(a), Number(b), Number(c)];
  } catch {
    return [0, 0, 0];
  }
}

/** Process names of the shared servers the distributed profile uses. */
export const INFRA_COMMANDS = ["redis-server", "beam.smp", "postgres"] as const;

/**
 * CPU time (ms) used so far by every process whose command name (/proc/<pid>/comm) is one of
 * `names`, by name: Redis, RabbitMQ (beam.smp) and PostgreSQL (all its backends). These servers
 * are shared with whatever else runs on the machine, so the figure is an upper bound for ours.
 */
export function sampleByCommand(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const pid of entries) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (!(comm in out)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[comm] = (out[comm] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}
