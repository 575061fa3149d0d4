import type { Config } from "../../lib/config/index.js";

/** The console's settings with the profile defaults applied (config keys in lib/config/schema.ts). */
export interface ConsoleSettings {
  /** `gateway.console`: serve `/` and `/console/...` at all (else they answer 404). */
  enabled: boolean;
  /** `console.demoLogin`: POST /console/demo-login issues userSigns (else 403). */
  demoLogin: boolean;
  /** `console.appId`: the app the page logs in to. */
  appId: number;
  /** `gateway.consoleHttpApi`, when set. */
  httpApi: string | undefined;
  profile: Config["profile"];
}

/**
 * Reads the console keys: unset `gateway.console` and `console.demoLogin` are on in the embedded
 * profile and off in the distributed one, where the demo login is refused unless set explicitly.
 */
export function consoleSettings(config: Config): ConsoleSettings {
  const embedded = config.profile === "embedded";
  return {
    enabled: config.gateway.console ?? embedded,
    demoLogin: config.console.demoLogin ?? embedded,
    appId: config.console.appId,
    httpApi: config.gateway.consoleHttpApi,
    profile: config.profile,
  };
}

/** The users the embedded profile seeds (app/seed-demo.ts) and the page offers (config.json). */
export const DEMO_USERS = [
  { userId: "alice", nickName: "Alice" },
  { userId: "bob", nickName: "Bob" },
  { userId: "carol", nickName: "Carol" },
] as const;
