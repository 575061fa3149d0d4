/**
 * The page's configuration (GET /console/config.json) and how a user signs in: the demo login
 * (POST /console/demo-login) where the server offers it, else a userSign from the app server (the
 * form field or `?userSign=`). The sign-in is kept in sessionStorage, so a reload of the tab comes
 * back as the same user and device; another tab is another device of the same user.
 */

export interface ConsoleConfig {
  appId: number;
  wsPath: string;
  httpApi: string;
  demoLogin: boolean;
  profile: string;
  demoUsers: string[];
}

export interface SignIn {
  appId: number;
  userId: string;
  userSign: string;
}

const SIGN_IN = "whaleshark.signIn";
const IMEI = "whaleshark.imei";
export const USER_ID = /^[A-Za-z0-9_.@-]{1,50}$/;

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch("/console/config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  const c = (await res.json()) as Partial<ConsoleConfig>;
  if (typeof c.appId !== "number" || typeof c.wsPath !== "string") {
    throw new Error("config.json: appId and wsPath are required");
  }
  return {
    appId: c.appId,
    wsPath: c.wsPath,
    httpApi: typeof c.httpApi === "string" ? c.httpApi : "",
    demoLogin: c.demoLogin === true,
    profile: typeof c.profile === "string" ? c.profile : "",
    demoUsers: Array.isArray(c.demoUsers) ? c.demoUsers.filter((u) => typeof u === "string") : [],
  };
}

/** Asks the server's demo login for a userSign; throws with the server's error text. */
export async function demoLogin(userId: string): Promise<SignIn> {
  const res = await fetch("/console/demo-login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json().catch(() => ({}))) as Partial<SignIn> & { error?: string };
  if (!res.ok || typeof body.userSign !== "string" || typeof body.appId !== "number") {
    throw new Error(body.error ?? `demo login refused (HTTP ${res.status})`);
  }
  return { appId: body.appId, userId: body.userId ?? userId, userSign: body.userSign };
}

export function savedSignIn(): SignIn | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(SIGN_IN) ?? "null") as SignIn | null;
    return s !== null && typeof s.userId === "string" && typeof s.userSign === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSignIn(s: SignIn | undefined): void {
  if (s === undefined) sessionStorage.removeItem(SIGN_IN);
  else sessionStorage.setItem(SIGN_IN, JSON.stringify(s));
}

/** This tab's device id: kept across reloads, new for every tab (each is its own device). */
export function tabImei(): string {
  let imei = sessionStorage.getItem(IMEI);
  if (imei === null) {
    imei = `web-${crypto.randomUUID().slice(0, 8)}`;
    sessionStorage.setItem(IMEI, imei);
  }
  return imei;
}
