import type { QueueOptions } from "../ports/bus.js";

/**
 * The session record in kv that gateways write and the domain reads to find a
 * user's devices (spec §4.2, §5.2): one hash per user, one field per device.
 *
 *   key   `{appId}:userSession:{userId}`        (the original's key)
 *   field `{clientType}:{imei}`
 *   value JSON {@link SessionRecord}
 *
 * The whole hash carries a TTL that every login and heartbeat of any device
 * renews; each record also carries `lastSeenMs`, so a reader treats a device
 * whose gateway died as offline once `lastSeenMs + ttlMs` has passed, even
 * while another device keeps the hash alive (Redis 7.0 has no per-field TTL).
 */
export interface SessionRecord {
  appId: number;
  userId: string;
  clientType: number;
  imei: string;
  /** The gateway node holding the connection (`config.nodeId`); names its delivery queue. */
  nodeId: string;
  /** Gateway-local id of the connection, so a kick targets exactly one connection. */
  connectionId: string;
  /** 1 online, 2 offline (spec §4.1 ConnectState). */
  connectState: 1 | 2;
  /** Body encoding the device logged in with: 0 JSON, 1 Protobuf. */
  messageType: number;
  loginAtMs: number;
  lastSeenMs: number;
}

/** kv key of a user's session hash. */
export function sessionKey(appId: number, userId: string): string {
  return `${appId}:userSession:${userId}`;
}

/** Hash field of one device. */
export function sessionField(clientType: number, imei: string): string {
  return `${clientType}:${imei}`;
}

/**
 * How every delivery queue is declared, by its gateway and by every publisher
 * (a broker refuses a redeclare with other arguments, so there is one
 * definition). Not durable: a device that misses a push catches up through
 * sync (docs/architecture.md §4), so pushes skip the broker's disk. Deleted five minutes
 * after its gateway stopped consuming, so a dead node's queue does not pile up.
 */
export const DELIVERY_QUEUE_OPTIONS: QueueOptions = { durable: false, expiresMs: 5 * 60_000 };

/** Bus queue of one gateway node's deliveries (DeliveryBatch messages). */
export function deliveryQueue(nodeId: string): string {
  return `deliver.${nodeId}`;
}

/** Serialises a record for kv. */
export function encodeSession(record: SessionRecord): string {
  return JSON.stringify(record);
}

/** Parses a kv value; null for anything that is not a well-formed record (never throws). */
export function decodeSession(value: string): SessionRecord | null {
  try {
    const r = JSON.parse(value) as Partial<SessionRecord>;
    if (
      typeof r.appId === "number" &&
      typeof r.userId === "string" &&
      typeof r.clientType === "number" &&
      typeof r.imei === "string" &&
      typeof r.nodeId === "string" &&
      typeof r.connectionId === "string" &&
      (r.connectState === 1 || r.connectState === 2) &&
      typeof r.lastSeenMs === "number"
    ) {
      return r as SessionRecord;
    }
  } catch {
    // fall through: a corrupt value is treated as no session
  }
  return null;
}

/** Whether a record counts as an online device at `nowMs`, given the session TTL. */
export function isOnline(record: SessionRecord, nowMs: number, ttlMs: number): boolean {
  return record.connectState === 1 && record.lastSeenMs + ttlMs > nowMs;
}
