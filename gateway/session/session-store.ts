import type { KvStore } from "../../lib/ports/kv.js";
import {
  decodeSession,
  encodeSession,
  isOnline,
  type SessionRecord,
  sessionField,
  sessionKey,
} from "../../lib/sessions/session-record.js";

/** One device's record with its hash field. */
export interface StoredSession {
  field: string;
  record: SessionRecord;
}

/**
 * The gateway's side of the session hash in kv (lib/sessions/session-record.ts, spec §4.2, §4.4).
 *
 * Numbers (`gateway.heartbeatTimeoutMs` = hb, default 90 s; `gateway.sessionTtlMs`, default 300 s):
 * - every write (login, renewal, offline mark) sets the whole hash's TTL to `sessionTtlMs`, so a
 *   dead gateway's sessions vanish at most `sessionTtlMs` after its last write;
 * - a live connection rewrites its record (lastSeenMs and the TTL) on traffic at most every
 *   `renewEveryMs = min(sessionTtlMs - hb, hb) / 2` (45 s by default). A connection silent for hb
 *   is closed, so a live record is never older than `renewEveryMs + hb` (135 s by default): below
 *   `sessionTtlMs` (the hash never expires under a live device) and below the online window;
 * - a record counts as online while `connectState == 1` and `lastSeenMs` is younger than
 *   `onlineWindowMs = 2 × hb`, the same window the domain's delivery planning uses.
 *
 * Writes that end a session compare `connectionId` first (read, then write): a device that
 * already logged in again elsewhere keeps its new record. kv has no compare-and-set, so a login
 * racing within that read/write window can still be overwritten by the offline mark; the next
 * renewal of the live connection restores it.
 */
export class SessionStore {
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly onlineWindowMs: number;

  constructor(
    private readonly kv: KvStore,
    options: { sessionTtlMs: number; heartbeatTimeoutMs: number },
    private readonly now: () => number = Date.now,
  ) {
    const hb = options.heartbeatTimeoutMs;
    this.ttlMs = options.sessionTtlMs;
    this.renewEveryMs = Math.max(1, Math.floor(Math.min(options.sessionTtlMs - hb, hb) / 2));
    this.onlineWindowMs = 2 * hb;
  }

  /** Writes (or overwrites) one device's record and renews the hash TTL. */
  async put(record: SessionRecord): Promise<void> {
    const key = sessionKey(record.appId, record.userId);
    await this.kv.hset(key, { [sessionField(record.clientType, record.imei)]: encodeSession(record) });
    await this.kv.expire(key, this.ttlMs);
  }

  /** Rewrites `record` with `lastSeenMs = now`; returns the written record. */
  async renew(record: SessionRecord): Promise<SessionRecord> {
    const renewed = { ...record, lastSeenMs: this.now() };
    await this.put(renewed);
    return renewed;
  }

  /** Whether `record` (last written at its lastSeenMs) is due for renewal. */
  renewalDue(record: SessionRecord): boolean {
    return this.now() - record.lastSeenMs >= this.renewEveryMs;
  }

  /** Every well-formed record of the user, online or not. */
  async devices(appId: number, userId: string): Promise<StoredSession[]> {
    const all = await this.kv.hgetall(sessionKey(appId, userId));
    const out: StoredSession[] = [];
    for (const [field, value] of Object.entries(all)) {
      const record = decodeSession(value);
      if (record !== null) out.push({ field, record });
    }
    return out;
  }

  /** The user's devices that count as online now (connectState 1 and not stale). */
  async onlineDevices(appId: number, userId: string): Promise<StoredSession[]> {
    const now = this.now();
    return (await this.devices(appId, userId)).filter((d) => isOnline(d.record, now, this.onlineWindowMs));
  }

  /**
   * Marks a device offline (connectState 2, spec §4.4 "force offline"; kept, not deleted) when its
   * record still names `connectionId`; returns whether it did.
   */
  async markOffline(record: SessionRecord, connectionId = record.connectionId): Promise<boolean> {
    const current = await this.#read(record);
    if (current === null || current.connectionId !== connectionId) return false;
    await this.put({ ...current, connectState: 2, lastSeenMs: this.now() });
    return true;
  }

  /** Deletes a device's field (LOGOUT, spec §4.4) when it still names `connectionId`. */
  async remove(record: SessionRecord, connectionId = record.connectionId): Promise<boolean> {
    const current = await this.#read(record);
    if (current === null || current.connectionId !== connectionId) return false;
    return (
      (await this.kv.hdel(
        sessionKey(record.appId, record.userId),
        sessionField(record.clientType, record.imei),
      )) > 0
    );
  }

  async #read(record: SessionRecord): Promise<SessionRecord | null> {
    const value = await this.kv.hget(
      sessionKey(record.appId, record.userId),
      sessionField(record.clientType, record.imei),
    );
    return value === null ? null : decodeSession(value);
  }
}
