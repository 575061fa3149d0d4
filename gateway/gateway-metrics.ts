import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { Command } from "../gen/ts/whaleshark/v1/command.js";
import { type HotCount, HotCounter } from "../lib/metrics/index.js";
import type { CloseReason, TransportKind, TransportObserver } from "./transport/transport.js";

/** Label value of a connection that has not logged in yet (no client type). */
const NO_CLIENT_TYPE = "none";

/** A command code as a bounded label: its number when it is a protocol command, else "unknown". */
export function commandLabel(command: number): string {
  return typeof Command[command] === "string" && command !== 0 ? String(command) : "unknown";
}

/**
 * The counts of one HotCounter by transport and command label, each resolved once. Commands that
 * are not protocol commands all share the "unknown" count and are not remembered one by one, so a
 * client sending arbitrary command numbers cannot grow this map.
 */
class CommandCounts {
  readonly #byCommand = new Map<number, HotCount>();
  readonly #unknown: HotCount;

  constructor(
    private readonly hot: HotCounter<"transport" | "command">,
    private readonly transport: TransportKind,
  ) {
    this.#unknown = hot.count({ transport, command: "unknown" });
  }

  of(command: number): HotCount {
    let count = this.#byCommand.get(command);
    if (count === undefined) {
      const label = commandLabel(command);
      if (label === "unknown") return this.#unknown;
      count = this.hot.count({ transport: this.transport, command: label });
      this.#byCommand.set(command, count);
    }
    return count;
  }
}

/**
 * The gateway's Prometheus series (docs/architecture.md §7), all `whaleshark_gateway_*`, registered in the
 * role's own registry. Every error path of the gateway lands in `errors_total{kind}`; `kind` is
 * one of a fixed set of words (frame and body error reasons, `before-login`, `unknown-command`,
 * `from-mismatch`, `forward-failed`, `delivery-malformed`, `handler-failed`, ...), so label
 * cardinality stays bounded whatever clients send.
 *
 * The series bumped per frame (frames and bytes in and out, errors, which a flood of bad frames
 * bumps per frame too) count in plain numbers (lib/metrics HotCounter) and reach prom-client at
 * scrape time: call {@link frameIn}, {@link frameOut}, {@link bytesIn}, {@link bytesOut} and
 * {@link error} rather than `inc()` on those Counters.
 */
export class GatewayMetrics implements TransportObserver {
  readonly connections: Gauge<"transport" | "client_type">;
  readonly accepted: Counter<"transport">;
  readonly refusedTotal: Counter<"transport" | "reason">;
  readonly closes: Counter<"transport" | "reason">;
  readonly framesIn: Counter<"transport" | "command">;
  /** JSON bodies that arrived with NUL padding (old browser clients), accepted without it. */
  readonly nulPaddedFrames: Counter<"transport">;
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
  /** From the domain's publish of a delivery batch to this gateway taking it (delivery.proto). */
  readonly deliveryLag: Histogram;
  /** From a send frame (1103 / 2104) being handled to its ACK (1046 / 2047) being queued. */
  readonly sendAck: Histogram<"method" | "outcome">;
  readonly #framesIn: Record<TransportKind, CommandCounts>;
  readonly #framesOut: Record<TransportKind, CommandCounts>;
  readonly #bytesIn: Record<TransportKind, HotCount>;
  readonly #bytesOut: Record<TransportKind, HotCount>;
  readonly #errors: HotCounter<"kind">;
  readonly #errorCounts = new Map<string, HotCount>();

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
      help: "Connections refused at accept or at the WebSocket upgrade (ip-limit, total-limit, origin, bad-path)",
      labelNames: ["transport", "reason"],
      registers,
    });
    this.closes = new Counter({
      name: `${p}connections_closed_total`,
      help: "Connections closed, by close reason",
      labelNames: ["transport", "reason"],
      registers,
    });
    const framesIn = new HotCounter({
      name: `${p}frames_in_total`,
      help: "Client frames received, by command",
      labelNames: ["transport", "command"],
      registers,
    });
    this.framesIn = framesIn.counter;
    this.nulPaddedFrames = new Counter({
      name: `${p}nul_padded_frames_total`,
      help: "Client frames whose JSON body was followed by NUL padding (accepted without it)",
      labelNames: ["transport"],
      registers,
    });
    const framesOut = new HotCounter({
      name: `${p}frames_out_total`,
      help: "Server frames queued to clients, by command",
      labelNames: ["transport", "command"],
      registers,
    });
    this.framesOut = framesOut.counter;
    const bytesInHot = new HotCounter({
      name: `${p}bytes_in_total`,
      help: "Bytes received from clients",
      labelNames: ["transport"],
      registers,
    });
    this.bytesInTotal = bytesInHot.counter;
    const bytesOutHot = new HotCounter({
      name: `${p}bytes_out_total`,
      help: "Bytes queued to clients",
      labelNames: ["transport"],
      registers,
    });
    this.bytesOutTotal = bytesOutHot.counter;
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
    const errorsHot = new HotCounter({
      name: `${p}errors_total`,
      help: "Error paths taken, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.errors = errorsHot.counter;
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
    this.deliveryLag = new Histogram({
      name: `${p}delivery_lag_seconds`,
      help: "Delivery batches by the time from the domain's publish to this gateway taking them off the bus",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.sendAck = new Histogram({
      name: `${p}send_ack_seconds`,
      help: "Sends by the time from their frame to their ACK, by method and outcome (ok, failed); 60006 refusals are not timed",
      labelNames: ["method", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#framesIn = { tcp: new CommandCounts(framesIn, "tcp"), ws: new CommandCounts(framesIn, "ws") };
    this.#framesOut = { tcp: new CommandCounts(framesOut, "tcp"), ws: new CommandCounts(framesOut, "ws") };
    this.#bytesIn = {
      tcp: bytesInHot.count({ transport: "tcp" }),
      ws: bytesInHot.count({ transport: "ws" }),
    };
    this.#bytesOut = {
      tcp: bytesOutHot.count({ transport: "tcp" }),
      ws: bytesOutHot.count({ transport: "ws" }),
    };
    this.#errors = errorsHot;
  }

  /** A client frame arrived (counted by its command label, see commandLabel). */
  frameIn(kind: TransportKind, command: number): void {
    this.#framesIn[kind].of(command).n++;
  }

  /** A server frame was queued to a client. */
  frameOut(kind: TransportKind, command: number): void {
    this.#framesOut[kind].of(command).n++;
  }

  bytesIn(kind: TransportKind, bytes: number): void {
    this.#bytesIn[kind].n += bytes;
  }

  bytesOut(kind: TransportKind, bytes: number): void {
    this.#bytesOut[kind].n += bytes;
  }

  refused(kind: TransportKind, reason: string): void {
    this.refusedTotal.inc({ transport: kind, reason });
  }

  nulPadded(kind: TransportKind): void {
    this.nulPaddedFrames.inc({ transport: kind });
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
    let count = this.#errorCounts.get(kind);
    if (count === undefined) {
      count = this.#errors.count({ kind });
      this.#errorCounts.set(kind, count);
    }
    count.n++;
  }
}
