import type { HistogramData } from "../lib/histogram.js";
import type { BenchTransportKind, ClientEndpoint } from "./transports.js";

/**
 * What a load agent (the load generator inside this process or a forked worker) is asked to do.
 * Every request is answered once; agents stream AgentCounters meanwhile for the progress line.
 */
export type AgentRequest =
  | { op: "open"; spec: OpenSpec }
  | { op: "p2p"; spec: P2PSpec }
  | { op: "group-listen"; spec: GroupListenSpec }
  | { op: "group-send"; spec: GroupSendSpec }
  | { op: "group-collect" }
  | { op: "raw-echo"; spec: RawEchoSpec }
  | { op: "raw-listen"; spec: RawListenSpec }
  | { op: "raw-send"; spec: RawSendSpec }
  | { op: "raw-collect" }
  /** One raw connection flooding P2P sends (bench/load/flood-load.ts). */
  | { op: "flood"; spec: FloodSpec }
  /** Returns (and forgets) what went wrong with clients so far: drops with their reason, errors. */
  | { op: "errors" }
  /** Closes every client but keeps the agent (and its process) for the next request. */
  | { op: "disconnect" }
  | { op: "close" };

/** Running totals of one agent, streamed every 500 ms. */
export interface AgentCounters {
  connected: number;
  connectFailed: number;
  /** Connections that closed while the run still needed them. */
  dropped: number;
  sent: number;
  acked: number;
  /** Sends that failed (refused, ACK timeout, closed). */
  failed: number;
  delivered: number;
}

/** One SDK client (one user, one device) to open. */
export interface ClientSpec {
  userId: string;
  kind: BenchTransportKind;
  endpoint: ClientEndpoint;
  localAddress?: string;
}

/** Opens SDK clients and logs them in. */
export interface OpenSpec {
  clients: ClientSpec[];
  appId: number;
  privateKey: string;
  /** 0 JSON (the original's default), 1 Protobuf. */
  encoding: number;
  /** PING interval; undefined = the SDK default (a third of the announced timeout). */
  heartbeatMs?: number;
  /** Logins in flight at once. */
  concurrency: number;
  /** Answer each received P2P message with 1107 (SDK autoReceiveAck). */
  autoReceiveAck: boolean;
  /** Catch up by SYNC 9007 after each login and fill sequence gaps (the SDK default). */
  sync: boolean;
  /** Largest server frame payload accepted. */
  maxFrameBytes: number;
  /** SDK send window: sends written and not yet ACKed per client (default: the SDK's, 256). */
  maxInFlight?: number;
}

/** Result of `open`. */
export interface OpenResult {
  opened: number;
  failed: number;
  /** A few failure messages, for the report. */
  errors: string[];
  /** Milliseconds from the first connect to the last login. */
  elapsedMs: number;
}

/** A P2P run: senders send to their receiver; both ends live in this agent. */
export interface P2PSpec {
  /** Unique per run, so late deliveries of an earlier run are not counted as duplicates. */
  runId: string;
  pairs: Array<[from: string, to: string]>;
  /**
   * open: `ratePerSec` messages a second on a fixed schedule, over the pairs in turn; closed:
   * `window` sends in flight per sender, over that sender's pairs in turn.
   */
  mode: "open" | "closed";
  ratePerSec: number;
  window: number;
  durationMs: number;
  /** How long to wait after the last send for ACKs and deliveries. */
  drainMs: number;
  /** A sender with this many messages awaiting their ACK skips its turn (counted in `skipped`). */
  maxPendingPerSender: number;
  /** Padding so the message body has about this many bytes. */
  bodyBytes: number;
}

/** Counts and latencies of a P2P run (histograms in ms). */
export interface P2PResult {
  offered: number;
  sent: number;
  skipped: number;
  acked: number;
  refused: number;
  /** Sends that failed with `unknown` (no answer within the SDK's resend.maxPendingMs: maybe stored). */
  ackTimeouts: number;
  otherFailures: number;
  /** Failure reasons and codes, e.g. `refused:30008` → count. */
  failures: Record<string, number>;
  delivered: number;
  /** Of those, how many the SDK fetched by its catch-up (9007 / 9009) instead of a live push. */
  viaSync: number;
  duplicated: number;
  /** Delivered after a later message of the same sender (send order). */
  outOfOrder: number;
  /** Delivered with a lower messageSequence than one already delivered in that conversation. */
  sequenceOutOfOrder: number;
  /** Acknowledged as stored but never delivered within the drain time. */
  lost: number;
  /** Sent, but neither acknowledged nor refused when the drain time ended. */
  unacked: number;
  ack: HistogramData;
  deliver: HistogramData;
  /** How late the load generator itself sent, behind the schedule (open mode). */
  sendLag: HistogramData;
  sendStartMs: number;
  sendEndMs: number;
  lastAckMs: number;
  lastDeliverMs: number;
}

/** Starts counting group messages `groupId` received by these members. */
export interface GroupListenSpec {
  runId: string;
  groupId: string;
  members: string[];
}

/** Sends group messages from one member on a fixed schedule. */
export interface GroupSendSpec {
  runId: string;
  groupId: string;
  sender: string;
  ratePerSec: number;
  durationMs: number;
  drainMs: number;
  bodyBytes: number;
}

/** Result of `group-send`. */
export interface GroupSendResult {
  sent: number;
  acked: number;
  failures: Record<string, number>;
  ack: HistogramData;
  sendStartMs: number;
  sendEndMs: number;
}

/** Result of `group-collect` (and of `raw-collect`): what the listeners of this agent received. */
export interface ReceiveResult {
  delivered: number;
  /** Of those, fetched by the SDK's catch-up instead of pushed live. */
  viaSync: number;
  duplicated: number;
  deliver: HistogramData;
  /** Per message number: how many listeners got it and the latest arrival (send→deliver, ms). */
  perMessage: Record<string, { count: number; maxMs: number }>;
  lastDeliverMs: number;
}

/** A closed-loop echo over raw WebSocket connections (no SDK), see bench/load/raw-load.ts. */
export interface RawEchoSpec {
  /** bare: the bare `ws` server echoes; gateway-local: the gateway answers 1103 with 9006 itself. */
  target: "bare" | "gateway-local";
  url: string;
  connections: number;
  window: number;
  durationMs: number;
  appId: number;
  privateKey: string;
  bodyBytes: number;
}

/** Result of `raw-echo`. */
export interface RawEchoResult {
  connections: number;
  completed: number;
  errors: number;
  rtt: HistogramData;
  elapsedMs: number;
}

/** Opens raw listeners on the bare server's broadcast path. */
export interface RawListenSpec {
  url: string;
  connections: number;
}

/** Sends broadcast frames from one raw connection on a fixed schedule. */
export interface RawSendSpec {
  url: string;
  ratePerSec: number;
  durationMs: number;
  bodyBytes: number;
}

/** The flooding user of the `flood` scenario: one raw TCP connection that never waits. */
export interface FloodSpec {
  runId: string;
  host: string;
  tcpPort: number;
  appId: number;
  privateKey: string;
  userId: string;
  /** A friend of `userId`: the conversation flooded. */
  toId: string;
  /** Sends kept written and unanswered (the next one written per ACK). */
  window: number;
  durationMs: number;
  /** How long to wait for the last answers after the flood stopped. */
  drainMs: number;
  bodyBytes: number;
}

/** What the flood got. */
export interface FloodResult {
  written: number;
  answered: number;
  /** ACKs with code 200. */
  accepted: number;
  /** ACKs with code 60006 SEND_RATE_EXCEEDED. */
  refused: number;
  /** Every ACK code seen, with its count. */
  byCode: Record<string, number>;
  acceptedPerSec: number;
  /** The longest retryAfterMs of the refusals. */
  retryAfterMaxMs: number;
  floodMs: number;
}
