import type { PresenceDevice, UserPresence } from "../../../gen/ts/whaleshark/v1/presence_service.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { customKey, parseCustomStatus } from "../../../lib/presence/presence-keys.js";
import {
  decodeSession,
  isOnline,
  type SessionRecord,
  sessionKey,
} from "../../../lib/sessions/session-record.js";

/** ConnectState numbers (enums.proto). */
export const ONLINE = 1;
export const OFFLINE = 2;

/** One device as presence sees it, with its hash field (`{clientType}:{imei}`). */
export interface DeviceState {
  field: string;
  record: SessionRecord;
  online: boolean;
}

/**
 * The presence of users as the session store holds it now: a device is online while its record is
 * (connectState 1 and `lastSeenMs` inside the online window, lib/sessions), exactly what the push
 * path uses. One kv round trip for the sessions and one for the custom statuses of all users.
 */
export async function readDevices(
  kv: KvStore,
  appId: number,
  userIds: readonly string[],
  nowMs: number,
  onlineWindowMs: number,
): Promise<DeviceState[][]> {
  const hashes = await kv.hgetallMany(userIds.map((u) => sessionKey(appId, u)));
  return hashes.map((hash, i) => {
    const out: DeviceState[] = [];
    for (const [field, value] of Object.entries(hash)) {
      const record = decodeSession(value);
      // A record under another user's hash is corrupt data, never someone's device.
      if (record === null || record.userId !== userIds[i] || record.appId !== appId) continue;
      out.push({ field, record, online: isOnline(record, nowMs, onlineWindowMs) });
    }
    return out.sort((a, b) => a.field.localeCompare(b.field));
  });
}

/** The UserPresence of each user, in the order given. */
export async function queryPresence(
  kv: KvStore,
  appId: number,
  userIds: readonly string[],
  nowMs: number,
  onlineWindowMs: number,
): Promise<UserPresence[]> {
  if (userIds.length === 0) return [];
  const [devices, customs] = await Promise.all([
    readDevices(kv, appId, userIds, nowMs, onlineWindowMs),
    kv.mget(userIds.map((u) => customKey(appId, u))),
  ]);
  return userIds.map((userId, i) => {
    const list = devices[i] ?? [];
    return {
      userId,
      status: list.some((d) => d.online) ? ONLINE : OFFLINE,
      devices: list.map(
        (d): PresenceDevice => ({
          clientType: d.record.clientType,
          imei: d.record.imei,
          status: d.online ? ONLINE : OFFLINE,
          loginTime: d.record.loginAtMs ?? 0,
        }),
      ),
      customStatus: parseCustomStatus(customs[i] ?? null)?.text ?? "",
    };
  });
}
