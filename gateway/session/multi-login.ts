import { ClientType } from "../../gen/ts/whaleshark/v1/enums.js";

/** The multi-device policies of spec §4.3 (`gateway.loginMode`, the original's `im.loginModel`). */
export const LoginMode = {
  /** Single device: every other device of the user is kicked. */
  ONE: 1,
  /** Web plus one other device: every other device is kicked unless one side is WEB. */
  TWO: 2,
  /** Web plus one mobile plus one desktop: only a device of the same class is kicked. */
  THREE: 3,
  /** Unlimited: nobody is kicked. */
  ALL: 4,
} as const;

/** One of the LoginMode values. */
export type LoginMode = (typeof LoginMode)[keyof typeof LoginMode];

/** A logged-in device as multi-login sees it. */
export interface DeviceId {
  /** A ClientType value (spec §4.1). */
  clientType: number;
  imei: string;
}

/** The class of "same-class" devices (spec §4.1 `isSameClient`); undefined for WEB and WEBAPI. */
function deviceClass(clientType: number): "mobile" | "desktop" | undefined {
  if (clientType === ClientType.CLIENT_TYPE_IOS || clientType === ClientType.CLIENT_TYPE_ANDROID) {
    return "mobile";
  }
  if (clientType === ClientType.CLIENT_TYPE_WINDOWS || clientType === ClientType.CLIENT_TYPE_MAC) {
    return "desktop";
  }
  return undefined;
}

/**
 * Whether a new login of device `incoming` kicks the existing device `existing` of the same user
 * under `mode` (spec §4.3, exactly the original's rules):
 * - the same device (`clientType` and `imei` equal) is never kicked by this rule: it is the same
 *   device logging in again, which replaces its older connection instead;
 * - ONE kicks every other device;
 * - TWO kicks every other device unless either side is WEB (WEBAPI is kicked);
 * - THREE kicks only when neither side is WEB and both are in the same class (iOS/Android, or
 *   Windows/Mac); WEBAPI never kicks and is never kicked; two devices of the same type with
 *   different imei kick each other;
 * - ALL kicks nobody.
 * Pure: no I/O, so the table-driven test covers every pair.
 */
export function shouldKick(mode: LoginMode, incoming: DeviceId, existing: DeviceId): boolean {
  if (incoming.clientType === existing.clientType && incoming.imei === existing.imei) return false;
  const web = ClientType.CLIENT_TYPE_WEB as number;
  switch (mode) {
    case LoginMode.ONE:
      return true;
    case LoginMode.TWO:
      return incoming.clientType !== web && existing.clientType !== web;
    case LoginMode.THREE: {
      if (incoming.clientType === web || existing.clientType === web) return false;
      const cls = deviceClass(incoming.clientType);
      return cls !== undefined && cls === deviceClass(existing.clientType);
    }
    case LoginMode.ALL:
      return false;
  }
}

/** The devices among `existing` that a login of `incoming` kicks under `mode`, in input order. */
export function devicesToKick<T extends DeviceId>(
  mode: LoginMode,
  incoming: DeviceId,
  existing: readonly T[],
): T[] {
  return existing.filter((device) => shouldKick(mode, incoming, device));
}
