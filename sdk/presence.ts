import { Command } from "../gen/ts/whaleshark/v1/command.js";
import { UserStatusChangeNotifyPack } from "../gen/ts/whaleshark/v1/user_pack.js";

/**
 * Online status for applications (README "Online status", presence_service.proto):
 * - the `presence` event of WhaleSharkClient: 4004 (a user this user watches — a friend or a
 *   subscription — changed) and 4005 (another device of this user changed);
 * - `client.setCustomStatus(text)`: the C→S 4001 frame (not answered on success);
 * - {@link PresenceApi}: query, subscribe and unsubscribe (and setting the text with an answer)
 *   over the HTTP API's PresenceService routes.
 */

/** ConnectState values of a device or user. */
export const PresenceStatus = { ONLINE: 1, OFFLINE: 2 } as const;

/** Most characters of a custom status text (the server refuses longer ones with 90001). */
export const CUSTOM_STATUS_MAX_CHARS = 100;

/** A presence push as the `presence` event carries it. */
export interface PresenceEvent {
  /** 4004: a watched user changed; 4005: another device of this user changed. */
  command: 4004 | 4005;
  /**
   * `status` is the named device's new state (1 online, 2 offline); for a custom-status change it
   * is the user's state and the device the one that set it. `customStatus` is the user's text.
   */
  data: UserStatusChangeNotifyPack;
}

/** Whether a pushed command is a presence event. */
export function isPresenceCommand(command: number): command is 4004 | 4005 {
  return (
    command === Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY ||
    command === Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY_SYNC
  );
}

/** A push's payload as a {@link PresenceEvent} (unknown fields dropped, absent ones defaulted). */
export function presenceEvent(command: 4004 | 4005, data: unknown): PresenceEvent {
  return { command, data: UserStatusChangeNotifyPack.fromJSON(data) };
}

/**
 * What is wrong with a custom status text, if anything (the server's own rules: a string of at
 * most 100 characters, counted as code points, without NUL).
 */
export function customStatusFault(text: unknown): string | undefined {
  if (typeof text !== "string") return "customStatus must be a string";
  if (text.includes("\u0000")) return "customStatus contains a NUL character";
  if ([...text].length > CUSTOM_STATUS_MAX_CHARS) {
    return `customStatus is longer than ${CUSTOM_STATUS_MAX_CHARS} characters`;
  }
  return undefined;
}

/** Calls a Connect-style route of the HTTP API (sdk/http-api.ts HttpApi is one). */
export interface ApiCaller {
  call<T>(service: string, method: string, body?: Record<string, unknown>): Promise<T>;
}

/** One device of a user (presence_service.proto PresenceDevice). */
export interface PresenceDevice {
  clientType: number;
  imei: string;
  /** 1 online, 2 offline (logged-out devices are not listed). */
  status: number;
  /** When it logged in, epoch ms. */
  loginTime: number;
}

/**
 * The status of one user (presence_service.proto UserPresence): online while any device is.
 * Declared here rather than imported: the generated service module pulls in @grpc/grpc-js, which
 * a browser bundle must not.
 */
export interface UserPresence {
  userId: string;
  status: number;
  devices: PresenceDevice[];
  /** "" when none. */
  customStatus: string;
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" || typeof v === "string" ? Number(v) || 0 : 0);

/** A UserPresence from its proto-JSON (int64 as number or string, absent fields defaulted). */
export function userPresenceOf(json: unknown): UserPresence {
  const o = (json ?? {}) as Record<string, unknown>;
  const devices = Array.isArray(o.devices) ? o.devices : [];
  return {
    userId: str(o.userId),
    status: num(o.status),
    devices: devices.map((d) => {
      const v = (d ?? {}) as Record<string, unknown>;
      return {
        clientType: num(v.clientType),
        imei: str(v.imei),
        status: num(v.status),
        loginTime: num(v.loginTime),
      };
    }),
    customStatus: str(o.customStatus),
  };
}

/** Most users per query or (un)subscribe call (the server refuses more with 90001). */
export const MAX_PRESENCE_USERS = 100;

function checkUsers(userIds: readonly string[]): void {
  if (!Array.isArray(userIds) || userIds.some((u) => typeof u !== "string" || u.trim() === "")) {
    throw new TypeError("userIds must be non-empty strings");
  }
  if (userIds.length > MAX_PRESENCE_USERS) {
    throw new TypeError(`at most ${MAX_PRESENCE_USERS} userIds per call, got ${userIds.length}`);
  }
}

/**
 * PresenceService through the HTTP API, acting for the caller's user. Bad input throws a TypeError
 * before anything is sent; a refusal rejects with the caller's error (HttpApi: ApiError with the
 * business code, e.g. 20004 past a subscription limit).
 */
export class PresenceApi {
  constructor(private readonly api: ApiCaller) {}

  /** The status of up to 100 users, each with its devices and custom status text. */
  async query(userIds: readonly string[]): Promise<UserPresence[]> {
    checkUsers(userIds);
    const res = await this.api.call<{ users?: unknown[] }>("PresenceService", "QueryPresence", {
      userIds: [...userIds],
    });
    return (res.users ?? []).map((u) => userPresenceOf(u));
  }

  /**
   * Watches up to 100 users for `ttlSeconds` (0: the server's default, an hour unless configured):
   * their changes arrive as `presence` events (4004). Resolves with their current status and
   * when the subscriptions end (epoch ms). Subscribe again before then to keep them.
   */
  async subscribe(
    userIds: readonly string[],
    ttlSeconds = 0,
  ): Promise<{ users: UserPresence[]; expireTime: number }> {
    checkUsers(userIds);
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0) {
      throw new TypeError(`ttlSeconds must be an integer >= 0, got ${ttlSeconds}`);
    }
    const res = await this.api.call<{ users?: unknown[]; expireTime?: number | string }>(
      "PresenceService",
      "Subscribe",
      { userIds: [...userIds], ttlSeconds },
    );
    return {
      users: (res.users ?? []).map((u) => userPresenceOf(u)),
      expireTime: Number(res.expireTime ?? 0),
    };
  }

  /** Stops watching users (unknown ones are skipped). */
  async unsubscribe(userIds: readonly string[]): Promise<void> {
    checkUsers(userIds);
    await this.api.call("PresenceService", "Unsubscribe", { userIds: [...userIds] });
  }

  /** Sets this user's custom status text ("" clears it), answered (unlike the 4001 frame). */
  async setCustomStatus(text: string): Promise<void> {
    const fault = customStatusFault(text);
    if (fault !== undefined) throw new TypeError(fault);
    await this.api.call("PresenceService", "SetCustomStatus", { customStatus: text });
  }
}
