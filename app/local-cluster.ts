import type { Logger } from "pino";
import { type Config, loadConfig } from "../lib/config/index.js";
import type { Discovery, ServiceInstance } from "../lib/ports/discovery.js";
import type { RoleName } from "../lib/role/role.js";
import { type ServiceNames, serviceNames } from "../lib/routing/index.js";
import { ClusterMember, waitForInstances } from "./cluster-member.js";
import { startOrder } from "./roles.js";

/** Port keys each member shifts by 10 per index, so members of one role never collide. */
const PORT_KEYS: Record<string, (c: Config) => number> = {
  WHALESHARK_GATEWAY__TCP_PORT: (c) => c.gateway.tcpPort,
  WHALESHARK_GATEWAY__WS_PORT: (c) => c.gateway.wsPort,
  WHALESHARK_GATEWAY__GRPC_PORT: (c) => c.gateway.grpcPort,
  WHALESHARK_DOMAIN__PORT: (c) => c.domain.port,
  WHALESHARK_STORE__PORT: (c) => c.store.port,
  WHALESHARK_METRICS__GATEWAY_PORT: (c) => c.metrics.gatewayPort,
  WHALESHARK_METRICS__DOMAIN_PORT: (c) => c.metrics.domainPort,
  WHALESHARK_METRICS__STORE_PORT: (c) => c.metrics.storePort,
};

/**
 * One member's own settings over the shared `base` config: nodeId `<base nodeId>-<role>-<index>`,
 * the given messageKey worker id, and every listener port shifted by 10 × (index − 1) (port 0
 * stays 0: an ephemeral port). Index 1 keeps the configured ports, index 2 gets e.g. 19011/19012.
 */
export function memberEnv(
  base: Config,
  role: RoleName,
  index: number,
  workerId: number,
): Record<string, string> {
  const out: Record<string, string> = {
    WHALESHARK_NODE_ID: `${base.nodeId}-${role}-${index}`,
    WHALESHARK_WORKER_ID: String(workerId),
  };
  for (const [key, of] of Object.entries(PORT_KEYS)) {
    const port = of(base);
    out[key] = String(port === 0 ? 0 : port + 10 * (index - 1));
  }
  return out;
}

/**
 * The discovery services a starting role will register in, each with the port it bound, read
 * from its start-up log: `gateway listening` (TCP and WebSocket ports) or `grpc server listening`.
 */
export async function announcedPorts(
  member: ClusterMember,
  role: RoleName,
  names: ServiceNames,
  timeoutMs: number,
): Promise<Record<string, number>> {
  if (role === "gateway") {
    const line = await member.waitForLog((l) => l.msg === "gateway listening", timeoutMs);
    return { [names.gatewayTcp]: Number(line.tcpPort), [names.gatewayWs]: Number(line.wsPort) };
  }
  const line = await member.waitForLog((l) => l.msg === "grpc server listening", timeoutMs);
  return { [names[role]]: Number(line.port) };
}

/** A started member and where it listens. */
export interface RunningMember {
  member: ClusterMember;
  role: RoleName;
  nodeId: string;
  /** Its messageKey worker id (config `workerId`), so tests can tell which domain accepted a message. */
  workerId: number;
  /** Its registrations, by service name. */
  instances: Record<string, ServiceInstance>;
}

/**
 * The member processes of a local cluster on one machine (the `whaleshark cluster` command, and the
 * multi-process tests that kill and restart members on purpose). Each member gets its own nodeId,
 * worker id and ports through {@link memberEnv}; it counts as started once it is registered in
 * discovery, which is also how the other roles find it.
 */
export class LocalCluster {
  readonly #members = new Map<string, RunningMember>();
  #workerId = 0;

  constructor(
    private readonly base: Config,
    private readonly env: NodeJS.ProcessEnv,
    private readonly discovery: Discovery,
    private readonly logger: Logger,
    /** Copy members' stdout and stderr to this process's (the command does; tests do not). */
    private readonly forwardOutput = true,
  ) {}

  /** Current members by name (`gateway-1`, ...), a restarted one replacing its predecessor. */
  get members(): RunningMember[] {
    return [...this.#members.values()];
  }

  /** The member named `name`. @throws Error when there is none */
  member(name: string): RunningMember {
    const m = this.#members.get(name);
    if (m === undefined) throw new Error(`no cluster member ${name}`);
    return m;
  }

  /**
   * Spawns member `<role>-<index>` (again, after it died: same nodeId, a fresh worker id, since a
   * messageKey worker id must not be reused within a second) and resolves once it registered.
   * @throws Error when it exits first or is not registered within `timeoutMs`
   */
  async start(role: RoleName, index: number, timeoutMs = 60_000): Promise<RunningMember> {
    const name = `${role}-${index}`;
    if (this.#members.get(name)?.member.running) throw new Error(`${name} is already running`);
    const workerId = this.#workerId++ % 32;
    const own = memberEnv(this.base, role, index, workerId);
    const nodeId = own.WHALESHARK_NODE_ID as string;
    const env = { ...this.env, ...own };
    loadConfig({ env }); // a shifted port out of range fails here, naming the key
    const member = ClusterMember.spawn({
      name,
      args: [role],
      env,
      ...(this.forwardOutput
        ? {
            onLine: (text: string) => process.stdout.write(`${text}\n`),
            onStderr: (text: string) => process.stderr.write(text),
          }
        : {}),
    });
    const running: RunningMember = { member, role, nodeId, workerId, instances: {} };
    this.#members.set(name, running);
    const died = member.exited.then((e) => {
      throw new Error(`${name} exited (${e.code ?? e.signal}) before it registered: ${member.stderr}`);
    });
    died.catch(() => undefined);
    // The ports it bound come first in its log; waiting for a registration with exactly those
    // ports skips the stale one a killed predecessor may still hold until its session expires.
    const names = serviceNames(this.base.discovery.servicePrefix);
    const ports = await Promise.race([announcedPorts(member, role, names, timeoutMs), died]);
    for (const [service, port] of Object.entries(ports)) {
      const mine = (i: ServiceInstance) => i.id === nodeId && i.port === port;
      const list = await Promise.race([
        waitForInstances(this.discovery, service, (l) => l.some(mine), timeoutMs),
        died,
      ]);
      running.instances[service] = list.find(mine) as ServiceInstance;
    }
    this.logger.debug({ member: name, nodeId, pid: member.pid }, "cluster member ready");
    return running;
  }

  /**
   * Stops the gateways, then the domains, then the stores (SIGTERM, SIGKILL after `graceMs`,
   * default `shutdown.graceMs` + 5 s); 0 when every member still running exited with 0.
   */
  async stop(graceMs = this.base.shutdown.graceMs + 5000): Promise<number> {
    let code = 0;
    for (const role of [...startOrder].reverse()) {
      const group = this.members.filter((m) => m.role === role && m.member.running);
      const exits = await Promise.all(group.map((m) => m.member.stop(graceMs)));
      if (exits.some((e) => e.code !== 0)) code = 1;
    }
    return code;
  }
}
