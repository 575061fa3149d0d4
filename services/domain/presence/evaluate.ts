import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import { UserStatusChangeNotifyPack } from "../../../gen/ts/whaleshark/v1/user_pack.js";
import type { KvStore } from "../../../lib/ports/kv.js";
import { CUSTOM_FIELD, customKey, parseCustomStatus, seenKey } from "../../../lib/presence/presence-keys.js";
import { ALL, type PushItem, type PushTarget } from "../../../lib/push/pusher.js";
import { type DeviceState, OFFLINE, ONLINE, readDevices } from "./presence-state.js";

/** A change to push: a device that went on- or offline, or a new custom status text. */
export interface PresenceChange {
  clientType: number;
  imei: string;
  /** The device's new state, or for a custom-status change the user's state. */
  status: number;
  /** Only a custom-status change. */
  custom: boolean;
}

/** The outcome of one evaluation. */
export interface Evaluation {
  changes: PresenceChange[];
  /** The user's custom status text now (in every pack). */
  customStatus: string;
  /** When to evaluate again (the oldest online device going stale), or null when nobody is online. */
  nextDueMs: number | null;
}

/** What an evaluation reads and writes. */
export interface EvaluateDeps {
  kv: KvStore;
  onlineWindowMs: number;
}

/** The device of a snapshot field `{clientType}:{imei}` (imei may hold ':'). */
function deviceOf(field: string): { clientType: number; imei: string } | null {
  const colon = field.indexOf(":");
  if (colon <= 0) return null;
  const clientType = Number(field.slice(0, colon));
  return Number.isInteger(clientType) ? { clientType, imei: field.slice(colon + 1) } : null;
}

/**
 * Compares a user's devices now (the session store) with what was last pushed (the snapshot,
 * `seenKey`), writes the new snapshot and returns the differences. Evaluating twice in a row
 * finds nothing the second time, so a repeated or concurrent evaluation of the same state pushes
 * nothing new (two domains racing on one user may both push the same change, which says the same
 * thing twice; clients treat 4004 / 4005 as a state, not an event).
 */
export async function evaluateUser(
  deps: EvaluateDeps,
  appId: number,
  userId: string,
  nowMs: number,
): Promise<Evaluation> {
  const { kv } = deps;
  const [[devices = []], seen, customValue] = await Promise.all([
    readDevices(kv, appId, [userId], nowMs, deps.onlineWindowMs),
    kv.hgetall(seenKey(appId, userId)),
    kv.get(customKey(appId, userId)),
  ]);
  const custom = parseCustomStatus(customValue);
  const online = devices.filter((d: DeviceState) => d.online);
  const onlineFields = new Set(online.map((d) => d.field));
  const changes: PresenceChange[] = [];

  for (const d of online) {
    if (seen[d.field] === undefined) {
      changes.push({ clientType: d.record.clientType, imei: d.record.imei, status: ONLINE, custom: false });
    }
  }
  const gone: string[] = [];
  for (const field of Object.keys(seen)) {
    if (field === CUSTOM_FIELD || onlineFields.has(field)) continue;
    gone.push(field);
    const device = deviceOf(field);
    if (device !== null) changes.push({ ...device, status: OFFLINE, custom: false });
  }
  const text = custom?.text ?? "";
  if (text !== (seen[CUSTOM_FIELD] ?? "")) {
    changes.push({
      clientType: custom?.clientType ?? 0,
      imei: custom?.imei ?? "",
      status: online.length > 0 ? ONLINE : OFFLINE,
      custom: true,
    });
  }

  if (changes.length > 0) {
    const fields: Record<string, string> = {};
    for (const d of online) fields[d.field] = "1";
    if (text !== "") fields[CUSTOM_FIELD] = text;
    if (seen[CUSTOM_FIELD] !== undefined && text === "") gone.push(CUSTOM_FIELD);
    if (gone.length > 0) await kv.hdel(seenKey(appId, userId), ...gone);
    if (Object.keys(fields).length > 0) await kv.hset(seenKey(appId, userId), fields);
  }
  const oldest = Math.min(...online.map((d) => d.record.lastSeenMs));
  return {
    changes,
    customStatus: text,
    nextDueMs: online.length === 0 ? null : oldest + deps.onlineWindowMs,
  };
}

/**
 * The pushes of one evaluation: each change as 4004 to every watcher and as 4005 to the user's own
 * devices but the one concerned (it knows its own state; for a custom status, the setter).
 */
export function presencePushes(
  appId: number,
  userId: string,
  evaluation: Evaluation,
  watchers: readonly string[],
): PushItem[] {
  const items: PushItem[] = [];
  for (const change of evaluation.changes) {
    const data = UserStatusChangeNotifyPack.toJSON({
      appId,
      clientType: change.clientType,
      customStatus: evaluation.customStatus,
      imei: change.imei,
      status: change.status,
      userId,
    });
    const own: PushTarget =
      change.imei === "" ? ALL : { kind: "allExcept", clientType: change.clientType, imei: change.imei };
    items.push({ userId, target: own, command: Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY_SYNC, data });
    for (const watcher of watchers) {
      if (watcher === userId) continue;
      items.push({
        userId: watcher,
        target: ALL,
        command: Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY,
        data,
      });
    }
  }
  return items;
}
