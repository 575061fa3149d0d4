import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Profile } from "./target/target.js";

/** The scenarios `npm run bench -- <scenario>` runs. */
export const SCENARIOS = ["idle", "p2p", "group", "baseline", "one-conn", "flood"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Every option with its default applied (durations in ms, rates per second). */
export interface BenchOptions {
  scenario: Scenario;
  profile: Profile;
  /** Gateway processes (distributed); embedded always has one. */
  gateways: number;
  /** distributed: the kv on a six-node local Redis Cluster started for the run (`redis.cluster`). */
  redisCluster: boolean;
  /** Forked load-generator processes; 0 = generate load inside this process. */
  workers: number;
  transport: "ws" | "tcp";
  /** 0 JSON (the original clients' encoding), 1 Protobuf. */
  encoding: number;
  /** Source addresses 127.0.0.1..N; 0 = as many as the connection count needs. */
  sourceIps: number;
  logLevel: string;
  bodyBytes: number;
  /** idle, baseline: connections. */
  connections: number;
  /** idle: how long to keep the connections after they are up. */
  holdMs: number;
  /** Client PING interval; undefined = SDK default (a third of the gateway's announced timeout). */
  heartbeatMs: number | undefined;
  /** p2p, flood: sender/receiver pairs. */
  pairs: number;
  /** one-conn: receivers of the one sender, each its own conversation. */
  conversations: number;
  /** flood: sends the flooding connection keeps written and unanswered. */
  flood: number;
  /**
   * p2p: fixed rate; group: group messages a second; baseline: broadcast messages a second;
   * one-conn: fixed rate, 0 = as fast as the send window allows; flood: the other users' rate.
   */
  rate: number;
  durationMs: number;
  drainMs: number;
  /** p2p: the warm-up at 100/s before the measured phases (a fresh server's first seconds are slower: caches, JIT). */
  warmupMs: number;
  /** p2p: fixed, ramp or both. */
  phases: Array<"fixed" | "ramp">;
  rampStart: number;
  rampFactor: number;
  rampMax: number;
  stepMs: number;
  /** p2p ramp: a step is sustained only while p99 send→deliver stays under this. */
  sloMs: number;
  /** group: members of the group, of whom `online` are connected. */
  members: number;
  online: number;
  /** baseline: frames in flight per echo connection; one-conn: the sender's SDK maxInFlight. */
  window: number;
  /** Extra server environment, `--server-env KEY=VALUE` (repeatable). */
  serverEnv: Record<string, string>;
  /** Where the JSON result goes (default bench/results). */
  outDir: string | undefined;
  /** Write V8 CPU profiles of the server processes (into the run's log folder). */
  cpuProf: boolean;
  /** Receivers answer each P2P message with 1107 (the SDK default, as real clients do). */
  receiveAck: boolean;
  /** Clients catch up by SYNC after login and fill gaps (the SDK default). */
  sync: boolean;
  /** Largest server frame payload the clients accept (the SDK's default is 64 KiB). */
  maxFrameBytes: number;
}

/** Usage text for `npm run bench -- --help`. */
export const USAGE = `usage: npm run bench -- <${SCENARIOS.join("|")}> [options]

  --profile embedded|distributed   target (default embedded)
  --gateways N          gateway processes, distributed only (default 1; group: 2)
  --redis-cluster       distributed only: the kv on a six-node Redis Cluster (3 masters, 3
                        replicas) started on this machine for the run, instead of the local Redis
  --workers N           forked load-generator processes (default 0 = this process; idle: 1 per 10k)
  --transport ws|tcp    client transport (default ws)
  --encoding json|protobuf         body encoding (default json)
  --source-ips N        connect from 127.0.0.1..N (default: 1 per 25k connections)
  --connections N       idle (default 1000) / baseline echo connections (default 50)
  --hold S              idle: seconds to hold the connections (default 30)
  --heartbeat-ms MS     client PING interval (default: SDK, a third of the server's)
  --pairs N             p2p: sender/receiver pairs (default 200; flood: 50)
  --conversations K     one-conn: receivers of the one sending connection (default 20)
  --flood N             flood: sends one raw connection keeps in flight beside the P2P run
                        (default 10000); it runs with the default send rates (gateway.sendRate*),
                        which every other scenario lifts
  --rate R              p2p fixed rate (embedded 5000, distributed 2000) / group msgs/s (2) /
                        baseline broadcast msgs/s (100) / one-conn fixed rate (0 = as fast as
                        the window allows, the default) / flood: the other users' msgs/s (250)
  --duration S          measured seconds per run (default 20; group, baseline, one-conn 10)
  --drain S             seconds to wait for the last ACKs and deliveries (default 10)
  --warmup S            p2p, one-conn: seconds of sends at 100/s before measuring (default 3)
  --phases fixed,ramp   p2p phases (default both)
  --ramp-start R --ramp-factor F --ramp-max R --step S --slo-ms MS
                        p2p ramp (defaults 100, 1.5, 60000, 10 s, p99 deliver ≤ 1000 ms)
  --members M --online K           group (default 1000 / 100); baseline broadcast receivers = K
  --window W            baseline: echo frames in flight per connection (default 4); one-conn: the
                        sender's SDK maxInFlight, and sends kept in flight when --rate is 0 (256)
  --body-bytes B        message body size (default 100)
  --receive-ack on|off  receivers answer each P2P message with 1107 (default on, as the SDK)
  --sync on|off         clients catch up (SYNC 9007) after login and fill gaps (default on, as the SDK)
  --max-frame-bytes B   largest server frame the clients accept (default 65536, as the SDK)
  --log-level L         server log level (default info)
  --server-env K=V      extra WHALESHARK_* variable for the servers (repeatable)
  --out DIR             result directory (default bench/results)
  --cpu-prof            servers write V8 CPU profiles into the run's log folder (summarise them
                        with: npx tsx bench/tools/cpu-top.ts <file.cpuprofile>)`;

const STRING_OPTIONS = [
  "profile",
  "gateways",
  "workers",
  "transport",
  "encoding",
  "source-ips",
  "log-level",
  "body-bytes",
  "connections",
  "hold",
  "heartbeat-ms",
  "pairs",
  "conversations",
  "flood",
  "rate",
  "duration",
  "drain",
  "warmup",
  "phases",
  "ramp-start",
  "ramp-factor",
  "ramp-max",
  "step",
  "slo-ms",
  "members",
  "online",
  "window",
  "out",
  "receive-ack",
  "sync",
  "max-frame-bytes",
] as const;

const num = (v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a non-negative number: ${v}`);
  return n;
};

/** Parses `npm run bench -- ...` arguments. @throws Error with a one-line reason */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const options: NonNullable<ParseArgsConfig["options"]> = {
    "server-env": { type: "string", multiple: true },
    "cpu-prof": { type: "boolean" },
    "redis-cluster": { type: "boolean" },
  };
  for (const name of STRING_OPTIONS) options[name] = { type: "string" };
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  const v = values as Record<string, string | undefined> & {
    "server-env"?: string[];
    "cpu-prof"?: boolean;
    "redis-cluster"?: boolean;
  };
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${positionals[0] ?? "(none)"}`);
  const profile = (v.profile ?? "embedded") as Profile;
  if (profile !== "embedded" && profile !== "distributed") throw new Error(`unknown profile ${profile}`);
  const redisCluster = v["redis-cluster"] === true;
  if (redisCluster && profile !== "distributed")
    throw new Error("--redis-cluster needs --profile distributed");
  const transport = (v.transport ?? "ws") as "ws" | "tcp";
  if (transport !== "ws" && transport !== "tcp") throw new Error(`unknown transport ${transport}`);
  const connections = num(v.connections, scenario === "idle" ? 1000 : 50);
  const phases = (v.phases ?? "fixed,ramp").split(",").filter((p) => p !== "");
  if (phases.some((p) => p !== "fixed" && p !== "ramp")) throw new Error(`unknown phase in ${v.phases}`);
  const serverEnv: Record<string, string> = {};
  for (const kv of v["server-env"] ?? []) {
    const at = kv.indexOf("=");
    if (at <= 0 || !kv.startsWith("WHALESHARK_"))
      throw new Error(`--server-env wants WHALESHARK_X=value: ${kv}`);
    serverEnv[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const defaultRate = {
    idle: 0,
    p2p: profile === "embedded" ? 5000 : 2000,
    group: 2,
    baseline: 100,
    "one-conn": 0,
    flood: 250,
  }[scenario];
  return {
    scenario,
    profile,
    gateways: profile === "embedded" ? 1 : Math.max(1, num(v.gateways, scenario === "group" ? 2 : 1)),
    redisCluster,
    workers: num(
      v.workers,
      scenario === "idle" && connections > 10_000 ? Math.ceil(connections / 10_000) : 0,
    ),
    transport,
    encoding: v.encoding === "protobuf" ? 1 : 0,
    sourceIps: num(v["source-ips"], 0),
    logLevel: v["log-level"] ?? "info",
    bodyBytes: num(v["body-bytes"], 100),
    connections,
    holdMs: num(v.hold, 30) * 1000,
    heartbeatMs: v["heartbeat-ms"] === undefined ? undefined : num(v["heartbeat-ms"], 0),
    pairs: Math.max(1, num(v.pairs, scenario === "flood" ? 50 : 200)),
    conversations: Math.max(1, Math.floor(num(v.conversations, 20))),
    flood: Math.max(1, Math.floor(num(v.flood, 10_000))),
    rate: num(v.rate, defaultRate),
    durationMs: num(v.duration, scenario === "p2p" ? 20 : 10) * 1000,
    drainMs: num(v.drain, 10) * 1000,
    warmupMs: num(v.warmup, 3) * 1000,
    phases: phases as Array<"fixed" | "ramp">,
    rampStart: num(v["ramp-start"], 100),
    rampFactor: Math.max(1.05, num(v["ramp-factor"], 1.5)),
    rampMax: num(v["ramp-max"], 60_000),
    stepMs: num(v.step, 10) * 1000,
    sloMs: num(v["slo-ms"], 1000),
    members: Math.max(2, num(v.members, 1000)),
    online: Math.max(2, num(v.online, 100)),
    window: Math.max(1, Math.floor(num(v.window, scenario === "one-conn" ? 256 : 4))),
    serverEnv,
    outDir: v.out,
    cpuProf: v["cpu-prof"] === true,
    receiveAck: v["receive-ack"] !== "off",
    sync: v.sync !== "off",
    maxFrameBytes: num(v["max-frame-bytes"], 65_536),
  };
}
