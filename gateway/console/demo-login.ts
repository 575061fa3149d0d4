import { generateUserSign } from "../../lib/auth/index.js";

/** A demo-login userSign's lifetime: one day (interface: `expiresInSeconds: 86400`). */
export const DEMO_SIGN_SECONDS = 86_400;

/** User ids the demo login takes: what a person types, and what the database holds (≤ 50). */
export const DEMO_USER_ID = /^[A-Za-z0-9_.-]{1,32}$/;

/** An answer of POST /console/demo-login: HTTP status and JSON body. */
export interface DemoLoginAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What the demo login needs; all of it decided at start, from the config. */
export interface DemoLoginOptions {
  /** `console.demoLogin` (on by default in the embedded profile only). */
  enabled: boolean;
  appId: number;
  /** The app's key; undefined when the app is not configured. */
  privateKey: string | undefined;
  /** The app's admin ids: never given out by the demo login. */
  adminIds: readonly string[];
  /**
   * Creates the user unless it exists; resolves "admin" for an existing user whose user_type makes
   * it an app admin. Undefined when the app has no admin to do it as.
   */
  ensureUser: ((userId: string) => Promise<"user" | "admin">) | undefined;
}

/**
 * POST /console/demo-login `{ "userId": "alice" }`: a userSign of the console's app for that user,
 * creating the user first so a fresh one can send at once. A demo switch: 403 unless enabled, 400
 * for a bad body or user id, 403 for an app admin's id (a demo login must never hand out admin
 * rights), 503 when the app is not configured or has no admin to create users with. The userSign
 * goes in the answer only, never in a log line.
 */
export async function demoLogin(options: DemoLoginOptions, rawBody: string): Promise<DemoLoginAnswer> {
  if (!options.enabled) return { status: 403, body: { error: "demo login is disabled" } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    return { status: 400, body: { error: 'the body must be JSON: { "userId": "alice" }' } };
  }
  const userId = (parsed as { userId?: unknown } | null)?.userId;
  if (typeof userId !== "string" || !DEMO_USER_ID.test(userId)) {
    return {
      status: 400,
      body: { error: "userId must be 1 to 32 letters, digits, '_', '.' or '-'" },
    };
  }
  if (options.adminIds.includes(userId)) {
    return { status: 403, body: { error: "an app admin cannot use the demo login" } };
  }
  if (options.privateKey === undefined || options.ensureUser === undefined) {
    return {
      status: 503,
      body: {
        error: `demo login needs app ${options.appId} with an admin (apps.${options.appId}.privateKey and adminIds)`,
      },
    };
  }
  if ((await options.ensureUser(userId)) === "admin") {
    return { status: 403, body: { error: "an app admin cannot use the demo login" } };
  }
  const userSign = generateUserSign({
    appId: options.appId,
    identifier: userId,
    privateKey: options.privateKey,
    expireSeconds: DEMO_SIGN_SECONDS,
  });
  return {
    status: 200,
    body: { appId: options.appId, userId, userSign, expiresInSeconds: DEMO_SIGN_SECONDS },
  };
}
