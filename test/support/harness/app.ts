import { generateUserSign } from "../../../lib/auth/index.js";
import type { Config } from "../../../lib/config/index.js";

/**
 * The one app every test harness serves and every test signs for: appId 10001 with the embedded
 * profile's demo key and administrator (lib/config/load-config.ts, spec §6.2), so a test of
 * `whaleshark start` on its default configuration signs with the same identity as one on a harness
 * that configures the app itself.
 */
export const APP_ID = 10001;
/** The test app's userSign key. */
export const APP_KEY = "bantanger";
/** The test app's configured administrator (`apps.10001.adminIds`). */
export const ADMIN = "admin";

/** A valid userSign of `userId` for the test app (`now` in epoch seconds pins the issue time). */
export function userSign(userId: string, expireSeconds = 3600, now?: number): string {
  return generateUserSign({ appId: APP_ID, identifier: userId, privateKey: APP_KEY, expireSeconds, now });
}

/** The config `apps` section that declares the test app. */
export function testApps(): Config["apps"] {
  return { [String(APP_ID)]: { privateKey: APP_KEY, adminIds: [ADMIN] } };
}

/** The test app for the SDK's and the callers' options (`appId`, `privateKey`). */
export const TEST_APP = { appId: APP_ID, privateKey: APP_KEY } as const;

/** The internal secret every role of a test deployment shares (gateway → domain and store calls). */
export const INTERNAL_SECRET = "whaleshark-test-internal-secret";
