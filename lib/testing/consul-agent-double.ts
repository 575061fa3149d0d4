import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for a Consul agent's HTTP API, for tests. No Consul server can be installed where the
 * tests run (no package, no Go toolchain), so the Consul discovery adapter is tested against this
 * double of exactly the four endpoints it uses, following Consul's documented behaviour:
 *
 * - `PUT /v1/agent/service/register`: PascalCase JSON (`Name`, `ID`, `Address`, `Port`, `Meta`,
 *   `Check: { TTL, Status, DeregisterCriticalServiceAfter }`); the service's check is
 *   `service:<ID>`, critical unless `Status` says otherwise, as in Consul.
 * - `PUT /v1/agent/check/pass/<checkId>`: passing again for one TTL; 404 for an unknown check.
 * - `PUT /v1/agent/service/deregister/<id>`: 404 for an unknown service.
 * - `GET /v1/health/service/<name>?passing&index&wait`: a blocking query. It answers at once when
 *   `index` is absent or older than the current index, else when anything changes or `wait`
 *   passes; `X-Consul-Index` carries the index. Entries are `{ Node, Service, Checks }`.
 * - A check whose TTL runs out turns critical; after `DeregisterCriticalServiceAfter` critical the
 *   service is removed. Every change raises the (agent-wide) index.
 * What it does not do: ACLs, datacenters, tags filtering, anything else of the API (404, and the
 * request is recorded in `unexpected` so a test can assert the adapter stayed within the four).
 */
export class ConsulAgentDouble {
  /** Requests to endpoints the double does not implement, as `METHOD path`. */
  readonly unexpected: string[] = [];
  private readonly services = new Map<string, RegisteredService>();
  private readonly waiters = new Set<() => void>();
  private index = 1;

  private constructor(
    private readonly server: Server,
    /** Base URL, e.g. `http://127.0.0.1:41234` (pass as the adapter's `url`). */
    readonly url: string,
  ) {}

  /** Starts the double on a free port of 127.0.0.1. */
  static async start(): Promise<ConsulAgentDouble> {
    let double: ConsulAgentDouble | undefined;
    const server = createServer((req, res) => {
      double?.handle(req, res).catch((err: unknown) => send(res, 400, String(err)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    double = new ConsulAgentDouble(server, `http://127.0.0.1:${port}`);
    return double;
  }

  /** Service ids and check states, e.g. `{ "svc:a": "passing" }`. */
  checks(): Record<string, string> {
    return Object.fromEntries([...this.services.values()].map((s) => [s.ID, s.status]));
  }

  /** Forgets every registration, like an agent restarted without its state. */
  forgetAll(): void {
    for (const service of this.services.values()) service.clearTimers();
    this.services.clear();
    this.changed();
  }

  /** Stops the double; pending blocking queries are answered first. */
  async close(): Promise<void> {
    this.forgetAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private changed(): void {
    this.index++;
    for (const wake of [...this.waiters]) wake();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const path = decodeURIComponent(url.pathname);
    const body = await readBody(req);
    const route = (method: string, pattern: RegExp) =>
      req.method === method ? path.match(pattern)?.[1] : undefined;
    if (req.method === "PUT" && path === "/v1/agent/service/register") {
      this.register(body, res);
      return;
    }
    const passId = route("PUT", /^\/v1\/agent\/check\/pass\/(.+)$/);
    if (passId !== undefined) {
      this.pass(passId, res);
      return;
    }
    const deregisterId = route("PUT", /^\/v1\/agent\/service\/deregister\/(.+)$/);
    if (deregisterId !== undefined) {
      this.deregister(deregisterId, res);
      return;
    }
    const healthOf = route("GET", /^\/v1\/health\/service\/(.+)$/);
    if (healthOf !== undefined) {
      this.health(healthOf, url, res);
      return;
    }
    this.unexpected.push(`${req.method} ${url.pathname}`);
    send(res, 404, "not implemented by the double");
  }

  private register(body: string, res: ServerResponse): void {
    const def = JSON.parse(body) as ServiceDefinition;
    const id = def.ID ?? def.Name;
    this.services.get(id)?.clearTimers();
    const service = new RegisteredService(
      def,
      () => this.changed(),
      (gone) => {
        if (this.services.get(gone.ID) === gone) this.services.delete(gone.ID);
        this.changed();
      },
    );
    this.services.set(id, service);
    this.changed();
    send(res, 200, "");
  }

  private pass(checkId: string, res: ServerResponse): void {
    const service = checkId.startsWith("service:") ? this.services.get(checkId.slice(8)) : undefined;
    if (service === undefined) {
      send(res, 404, `Unknown check ID "${checkId}"`);
      return;
    }
    if (service.pass()) this.changed();
    send(res, 200, "");
  }

  private deregister(id: string, res: ServerResponse): void {
    const service = this.services.get(id);
    if (service === undefined) {
      send(res, 404, `Unknown service ID "${id}"`);
      return;
    }
    service.clearTimers();
    this.services.delete(id);
    this.changed();
    send(res, 200, "");
  }

  private health(name: string, url: URL, res: ServerResponse): void {
    const answer = () => {
      const passingOnly = url.searchParams.has("passing") && url.searchParams.get("passing") !== "false";
      const entries = [...this.services.values()]
        .filter((s) => s.def.Name === name && (!passingOnly || s.status === "passing"))
        .map((s) => s.entry());
      res.setHeader("X-Consul-Index", String(this.index));
      send(res, 200, JSON.stringify(entries), "application/json");
    };
    const since = Number(url.searchParams.get("index") ?? "0");
    if (!(since >= this.index)) {
      answer();
      return;
    }
    const wait = Math.min(parseDuration(url.searchParams.get("wait") ?? "5m"), 600_000);
    const wake = () => {
      clearTimeout(timer);
      this.waiters.delete(wake);
      answer();
    };
    const timer = setTimeout(wake, wait);
    this.waiters.add(wake);
    res.on("close", () => {
      clearTimeout(timer);
      this.waiters.delete(wake);
    });
  }
}

interface ServiceDefinition {
  Name: string;
  ID?: string;
  Address?: string;
  Port?: number;
  Meta?: Record<string, string>;
  Tags?: string[];
  Check?: { TTL?: string; Status?: string; DeregisterCriticalServiceAfter?: string };
}

/** One registered service with its TTL check and timers. */
class RegisteredService {
  readonly ID: string;
  status: "passing" | "critical";
  private ttlTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly def: ServiceDefinition,
    private readonly onChange: () => void,
    private readonly onReap: (s: RegisteredService) => void,
  ) {
    this.ID = def.ID ?? def.Name;
    this.status = def.Check?.Status === "passing" ? "passing" : "critical";
    if (this.status === "passing") this.armTtl();
    else this.armReap();
  }

  /** Resets the TTL; true when the state changed. */
  pass(): boolean {
    const changed = this.status !== "passing";
    this.status = "passing";
    clearTimeout(this.reapTimer);
    this.armTtl();
    return changed;
  }

  clearTimers(): void {
    clearTimeout(this.ttlTimer);
    clearTimeout(this.reapTimer);
  }

  entry(): unknown {
    return {
      Node: { Node: "consul-agent-double", Address: "127.0.0.1" },
      Service: {
        ID: this.ID,
        Service: this.def.Name,
        Address: this.def.Address ?? "",
        Port: this.def.Port ?? 0,
        Meta: this.def.Meta ?? {},
        Tags: this.def.Tags ?? [],
      },
      Checks: [
        {
          CheckID: `service:${this.ID}`,
          ServiceID: this.ID,
          ServiceName: this.def.Name,
          Status: this.status,
        },
      ],
    };
  }

  private armTtl(): void {
    clearTimeout(this.ttlTimer);
    const ttl = this.def.Check?.TTL;
    if (ttl === undefined) return;
    this.ttlTimer = setTimeout(() => {
      this.status = "critical";
      this.armReap();
      this.onChange();
    }, parseDuration(ttl));
  }

  private armReap(): void {
    clearTimeout(this.reapTimer);
    const after = this.def.Check?.DeregisterCriticalServiceAfter;
    if (after === undefined) return;
    this.reapTimer = setTimeout(() => this.onReap(this), parseDuration(after));
  }
}

/** Go duration strings as Consul takes them: `1500ms`, `10s`, `1m`, `1h30m`. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (parts === null || parts.join("") !== text) throw new Error(`bad duration ${JSON.stringify(text)}`);
  for (const part of parts) {
    const [, n = "0", unit = "ms"] = part.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)$/) ?? [];
    total += Number(n) * (units[unit] ?? 1);
  }
  return total;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type = "text/plain"): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { "Content-Type": type });
  res.end(body);
}
