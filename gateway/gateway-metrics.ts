import { Counter, Gauge, type Registry } from "prom-client";
import { Command } from "../gen/ts/whaleshark/v1/command.js";
import type { CloseReason, TransportKind, TransportObserver } from "./transport/transport.js";

/** Label value of a connection that has not logged in yet (no client type). */
const NO_CLIENT_TYPE = "none";

/** A command code as a bounded label: its number when it is a protocol command, else "unknown". */
export function commandLabel(command: number): string {
  return typeof Command[command] === "string" && command !== 0 ? String(command) : "unknown";
}

/**
 * The gateway's Prometheus series (issue item 8), all `whaleshark_gateway_*`, registered in the
 * role's own registry. Every error path of the gateway lands in `errors_total{kind}`; `kind` is
 * one of a fixed set of words (frame and body error reasons, `before-login`, `unknown-command`,
 * `from-mismatch`, `forward-failed`, `delivery-malformed`, `handler-failed`, ...), so label
 * cardinality stays bounded whatever clients send.
 */
export class GatewayMetrics implements TransportObserver {
  readonly connections: Gauge<"transport" | "client_type">;
  readonly accepted: Counter<"transport">;
  readonly refusedTotal: Counter<"transport" | "reason">;
  readonly closes: Counter<"transport" | "reason">;
  readonly framesIn: Counter<"transport" | "command">;
  readonly framesOut: Counter<"transport" | "command">;
  readonly bytesInTotal: Counter<"transport">;
  readonly bytesOutTotal: Counter<"transport">;
  readonly logins: Counter<"transport" | "result">;
  readonly kicks: Counter<"where">;
  readonly heartbeatTimeouts: Counter<"transport">;
  readonly errors: Counter<"kind">;
  readonly queueDrops: Counter<"transport">;
  readonly forwards: Counter<"method" | "outcome">;
  readonly deliveries: Counter<"result">;

  constructor(registry: Registry) {
    const registers = [registry];
    const p = "whaleshark_gateway_";
    this.connections = new Gauge({
      name: `${p}connections`,
      help: "Open client connections by transport and client type (none = not logged in)",
      labelNames: ["transport", "client_type"],
      registers,
    });
    this.accepted = new Counter({
      name: `${p}connections_accepted_total`,
      help: "Client connections accepted",
      labelNames: ["transport"],
      registers,
    });
    this.refusedTotal = new Counter({
      name: `${p}connections_refused_total`,
      help: "Connections refused at accept (ip-limit, bad-path)",
      labelNames: ["transport", "reason"],
      registers,
    });
    this.closes = new Counter({
      name: `${p}connections_closed_total`,
      help: "Connections closed, by close reason",
      labelNames: ["transport", "reason"],
      registers,
    });
    this.framesIn = new Counter({
      name: `${p}frames_in_total`,
      help: "Client frames received, by command",
      labelNames: ["transport", "command"],
      registers,
    });
    this.framesOut = new Counter({
      name: `${p}frames_out_total`,
      help: "Server frames queued to clients, by command",
      labelNames: ["transport", "command"],
      registers,
    });
    this.bytesInTotal = new Counter({
      name: `${p}bytes_in_total`,
      help: "Bytes received from clients",
      labelNames: ["transport"],
      registers,
    });
    this.bytesOutTotal = new Counter({
      name: `${p}bytes_out_total`,
      help: "Bytes queued to clients",
      labelNames: ["transport"],
      registers,
    });
    this.logins = new Counter({
      name: `${p}logins_total`,
      help: "LOGIN 9000 outcomes: ok, or the refusal code",
      labelNames: ["transport", "result"],
      registers,
    });
    this.kicks = new Counter({
      name: `${p}kicks_total`,
      help: "Devices kicked by multi-login (spec §4.3): local connections, or remote ones via their node",
      labelNames: ["where"],
      registers,
    });
    this.heartbeatTimeouts = new Counter({
      name: `${p}heartbeat_timeouts_total`,
      help: "Connections closed for silence past gateway.heartbeatTimeoutMs (D3)",
      labelNames: ["transport"],
      registers,
    });
    this.errors = new Counter({
      name: `${p}errors_total`,
      help: "Error paths taken, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.queueDrops = new Counter({
      name: `${p}send_queue_drops_total`,
      help: "Connections closed because their outbound queue passed gateway.sendQueueMaxBytes",
      labelNames: ["transport"],
      registers,
    });
    this.forwards = new Counter({
      name: `${p}forwards_total`,
      help: "Calls forwarded to the domain ChatService, by method and outcome (ok or the error code)",
      labelNames: ["method", "outcome"],
      registers,
    });
    this.deliveries = new Counter({
      name: `${p}deliveries_total`,
      help: "Deliveries from the bus: written to a connection, or dropped (unknown-target, encode-failed)",
      labelNames: ["result"],
      registers,
    });
  }

  bytesIn(kind: TransportKind, bytes: number): void {
    this.bytesInTotal.inc({ transport: kind }, bytes);
  }

  bytesOut(kind: TransportKind, bytes: number): void {
    this.bytesOutTotal.inc({ transport: kind }, bytes);
  }

  refused(kind: TransportKind, reason: string): void {
    this.refusedTotal.inc({ transport: kind, reason });
  }

  /** A connection was accepted (counted in the gauge as not logged in). */
  opened(kind: TransportKind): void {
    this.accepted.inc({ transport: kind });
    this.connections.inc({ transport: kind, client_type: NO_CLIENT_TYPE });
  }

  /** A connection logged in as `clientType` (moves it in the gauge). */
  loggedIn(kind: TransportKind, clientType: number): void {
    this.connections.dec({ transport: kind, client_type: NO_CLIENT_TYPE });
    this.connections.inc({ transport: kind, client_type: String(clientType) });
    this.logins.inc({ transport: kind, result: "ok" });
  }

  /** A connection closed; `clientType` undefined when it never logged in. */
  closed(kind: TransportKind, clientType: number | undefined, reason: CloseReason): void {
    const type = clientType === undefined ? NO_CLIENT_TYPE : String(clientType);
    this.connections.dec({ transport: kind, client_type: type });
    this.closes.inc({ transport: kind, reason });
    if (reason === "slow-consumer") this.queueDrops.inc({ transport: kind });
    if (reason === "heartbeat-timeout") this.heartbeatTimeouts.inc({ transport: kind });
  }

  /** One error path taken. */
  error(kind: string): void {
    this.errors.inc({ kind });
  }
}
