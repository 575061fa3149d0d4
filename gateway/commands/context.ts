import type { Logger } from "pino";
import type { TokenRevocations } from "../../lib/auth/index.js";
import type { Config } from "../../lib/config/index.js";
import type { RefusalLog } from "../../lib/net/connection-limiter.js";
import type { Bus } from "../../lib/ports/bus.js";
import type { PresenceMarks } from "../../lib/presence/presence-keys.js";
import type { Pusher } from "../../lib/push/pusher.js";
import type { ReceiveAckGate } from "../../lib/push/receive-ack.js";
import type { GatewayMetrics } from "../gateway-metrics.js";
import type { LocalRegistry } from "../session/local-registry.js";
import type { SessionStore } from "../session/session-store.js";
import type { ChatCalls } from "./chat-client.js";
import type { HistoryCalls } from "./history-client.js";
import type { SendBatcher } from "./send-batcher.js";
import type { SendLoad } from "./send-load.js";
import type { SendRateLimiter } from "./send-rate.js";

/** Everything a command handler may touch; built once per gateway by start.ts. */
export interface GatewayContext {
  readonly config: Config;
  /** `config.nodeId`: names this node in session records and its delivery queue. */
  readonly nodeId: string;
  readonly registry: LocalRegistry;
  readonly sessions: SessionStore;
  readonly bus: Bus;
  readonly chat: ChatCalls;
  /** Sends (1103 / 2104) of every connection, gathered into ChatService.SendMessages calls. */
  readonly sends: SendBatcher;
  /** The store's HistoryService, for the sync commands 9007 / 9009 (sync.ts). */
  readonly history: HistoryCalls;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /**
   * The push path (lib/push), for what the gateway relays itself: a receiver's 1107 that
   * {@link receipts} allows goes straight to the sender's devices (the domain's ReceiveAck would
   * only read the same sessions and publish the same batch, one gRPC round trip later).
   */
  readonly pusher: Pusher;
  /** Decides from kv whether a 1107 is relayed here, dropped, or checked by the domain. */
  readonly receipts: ReceiveAckGate;
  /** Users' token revocation cut-offs (kv), checked at LOGIN. */
  readonly revocations: TokenRevocations;
  /** The send rates per connection and per user (send-rate.ts). */
  readonly sendRate: SendRateLimiter;
  /** How long sends wait for the domain, and whether to shed new ones (send-load.ts). */
  readonly sendLoad: SendLoad;
  /** Forwarded calls failing on the server side, logged at warning level with a rate limit (forward.ts). */
  readonly forwardFailures: RefusalLog;
  /** Marks users whose devices changed for the domain's presence sweep (lib/presence); absent in some tests. */
  readonly presence?: PresenceMarks;
}
