import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import {
  assertNotRevoked,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  TokenRevocations,
  verifyUserSign,
} from "../auth/index.js";
import { ImError } from "../errors/index.js";
import type { KvStore } from "../ports/kv.js";
import { APP_ADMIN_USER_TYPE, AUTH_METADATA } from "./auth-metadata.js";
import { permissionDenied } from "./errors.js";

/**
 * Authentication and authorization of gRPC calls (common.proto §2, spec §6.2,
 * fixes D4).
 *
 * App-server calls carry metadata `appid`, `identifier` and `usersign`. They
 * are checked in the original's order (missing appid 60001, identifier 60002,
 * usersign 60000, then the token: 60005 / 60003 / 60004), all
 * UNAUTHENTICATED. A verified token is cached in kv until it expires (spec
 * §6.2 step 7) under `{appId}:userSign:{identifier}#{sha256(token)}`: the
 * original keyed the raw token; a digest keeps bearer tokens out of kv dumps.
 * The cached value is `{expiresAt}:{issuedAt}` (a value of another shape is a
 * miss: the token is verified again).
 *
 * Two WhaleShark checks (issue 13): a token issued more than `maxClockSkewMs`
 * in the future is refused (60003, lib/auth/user-sign.ts), and so is, on every
 * call, cached or not, a token issued before its user's revocation cut-off
 * (60004, lib/auth/token-revocations.ts). The cut-off is read from kv in the
 * same MGET as the cache entry: no extra round trip, no database query.
 *
 * The request body is then checked against the caller
 * ({@link authorizeRequestBase}): `app_id` must be the caller's app and
 * `operater` the caller unless the caller is an app admin (60005,
 * PERMISSION_DENIED). An empty `app_id` / `operater` is filled with the
 * caller's, so a client need not repeat what the metadata already proves.
 *
 * Gateway-internal calls (ChatService) instead carry the deployment's shared
 * secret in metadata `x-whaleshark-internal` ({@link InternalAuthenticator});
 * see {@link resolveInternalSecret}.
 */

export { APP_ADMIN_USER_TYPE, AUTH_METADATA } from "./auth-metadata.js";

/** Metadata key of the gateway-internal shared secret. */
export const INTERNAL_SECRET_METADATA = "x-whaleshark-internal";

/**
 * Metadata key by which this process's HTTP edge (lib/http) marks an unsigned call under
 * `auth.login: open`; its value is {@link openCallToken}, a random value that never leaves the
 * process, so a network caller cannot set it.
 */
export const OPEN_CALL_METADATA = "x-whaleshark-open-call";

const processOpenCallToken = randomBytes(32).toString("base64url");

/** The value of {@link OPEN_CALL_METADATA} in this process. */
export function openCallToken(): string {
  return processOpenCallToken;
}

/** The authenticated app-server caller of one call. */
export interface Caller {
  appId: number;
  /** The user the userSign was issued for. */
  identifier: string;
  /** Whether the identifier is an app admin (config `adminIds` or user_type 100); memoised per call. */
  isAdmin(): Promise<boolean>;
}

/** What {@link AppAuthenticator} needs. */
export interface AppAuthenticatorOptions {
  /** `config.apps`: the HMAC key and admin ids of each app. */
  apps: Readonly<Record<string, { readonly privateKey: string; readonly adminIds?: readonly string[] }>>;
  kv: KvStore;
  /** user_type of a live (not deleted) user, or null when there is none (admin = 100). */
  userType(appId: number, userId: string): Promise<number | null>;
  /** Current Unix seconds (tests). */
  nowSeconds?: () => number;
  /** Config `auth.maxClockSkewMs` (default one minute). */
  maxClockSkewMs?: number;
  /**
   * The revocation reader; default one over `kv` without a restore (the
   * domain passes one that restores the kv mirror from the database).
   */
  revocations?: TokenRevocations;
  /**
   * `auth.login: open` (the original's D4, for demos): an HTTP call of this process's edge without
   * a userSign (marked with {@link OPEN_CALL_METADATA}) is taken as its `identifier`, which the
   * edge sets to the body's `operater`. Never an admin. Other callers still need a userSign.
   */
  openLogin?: boolean;
}

function single(metadata: Metadata, key: string): string {
  const value = metadata.get(key)[0];
  if (value === undefined) return "";
  return (typeof value === "string" ? value : value.toString("utf8")).trim();
}

/** Verifies app-server calls (common.proto §2). */
export class AppAuthenticator {
  readonly #opts: AppAuthenticatorOptions;
  readonly #now: () => number;
  readonly #revocations: TokenRevocations;

  constructor(opts: AppAuthenticatorOptions) {
    this.#opts = opts;
    this.#now = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.#revocations = opts.revocations ?? new TokenRevocations({ kv: opts.kv });
  }

  /**
   * The caller of a call, from its metadata.
   * @throws ImError 60000–60005 (UNAUTHENTICATED)
   */
  async authenticate(metadata: Metadata): Promise<Caller> {
    const rawAppId = single(metadata, AUTH_METADATA.appId);
    const identifier = single(metadata, AUTH_METADATA.identifier);
    const token = single(metadata, AUTH_METADATA.userSign);
    if (rawAppId === "") throw ImError.of("APPID_NOT_EXIST");
    if (identifier === "") throw ImError.of("OPERATER_NOT_EXIST");
    const openCall = token === "" && this.#opts.openLogin === true && isOpenCall(metadata);
    if (token === "" && !openCall) throw ImError.of("USERSIGN_NOT_EXIST");
    const app = /^[1-9]\d{0,9}$/.test(rawAppId) ? this.#opts.apps[rawAppId] : undefined;
    // An app this deployment does not serve has no key to verify with: 60001 like a missing one.
    if (app === undefined) throw ImError.of("APPID_NOT_EXIST", "unknown app");
    const appId = Number(rawAppId);
    if (openCall) return { appId, identifier, isAdmin: async () => false };

    const now = this.#now();
    const cacheKey = `${appId}:userSign:${identifier}#${createHash("sha256").update(token).digest("hex")}`;
    const { cutoff, alongside } = await this.#revocations.read(appId, identifier, [cacheKey]);
    let verified = parseCached(alongside[0] ?? null);
    if (verified === undefined || verified.expiresAt <= now) {
      verified = verifyUserSign({
        token,
        appId,
        identifier,
        privateKey: app.privateKey,
        now,
        maxClockSkewMs: this.#opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
      });
      const ttlMs = (verified.expiresAt - now) * 1000;
      const value = `${verified.expiresAt}:${verified.issuedAt}`;
      if (ttlMs > 0) await this.#opts.kv.set(cacheKey, value, { ttlMs });
    }
    assertNotRevoked(verified.issuedAt, cutoff);

    let admin: Promise<boolean> | undefined;
    return {
      appId,
      identifier,
      isAdmin: () => {
        admin ??= app.adminIds?.includes(identifier)
          ? Promise.resolve(true)
          : this.#opts.userType(appId, identifier).then((t) => t === APP_ADMIN_USER_TYPE);
        return admin;
      },
    };
  }
}

/** Whether `metadata` carries this process's open-call token (constant-time compare). */
function isOpenCall(metadata: Metadata): boolean {
  const given = Buffer.from(single(metadata, OPEN_CALL_METADATA), "utf8");
  const expected = Buffer.from(processOpenCallToken, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A userSign cache value `{expiresAt}:{issuedAt}`; undefined for none or another shape. */
function parseCached(value: string | null): { expiresAt: number; issuedAt: number } | undefined {
  const match = value === null ? null : /^(\d{1,15}):(\d{1,15})$/.exec(value);
  if (match === null) return undefined;
  return { expiresAt: Number(match[1]), issuedAt: Number(match[2]) };
}

/** The RequestBase fields every app-facing request starts with (common.proto §1). */
export interface RequestBase {
  appId: number;
  operater: string;
  clientType: number;
  imei: string;
}

/**
 * Checks (and completes) a request's RequestBase against its caller: empty
 * `appId` / `operater` take the caller's; another app is refused, and so is
 * another operator unless the caller is an app admin (D4).
 * @throws ImError 60005 with PERMISSION_DENIED
 */
export async function authorizeRequestBase(caller: Caller, body: RequestBase): Promise<void> {
  if (body.appId === 0) body.appId = caller.appId;
  if (body.operater === "") body.operater = caller.identifier;
  if (body.appId !== caller.appId) {
    throw permissionDenied("USERSIGN_OPERATE_NOT_MATE", "app_id is not the signed app");
  }
  if (body.operater !== caller.identifier && !(await caller.isAdmin())) {
    throw permissionDenied("USERSIGN_OPERATE_NOT_MATE", "operater is not the signed identifier");
  }
}

/** Verifies gateway-internal calls by the shared secret (constant-time compare). */
export class InternalAuthenticator {
  readonly #secret: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new RangeError("the internal secret needs at least 16 characters");
    this.#secret = Buffer.from(secret, "utf8");
  }

  /** @throws ImError 60000 (no secret) or 60003 (wrong secret), UNAUTHENTICATED */
  authenticate(metadata: Metadata): void {
    const given = single(metadata, INTERNAL_SECRET_METADATA);
    if (given === "") throw ImError.of("USERSIGN_NOT_EXIST", "internal call without credentials");
    const bytes = Buffer.from(given, "utf8");
    if (bytes.length !== this.#secret.length || !timingSafeEqual(bytes, this.#secret)) {
      throw ImError.of("USERSIGN_IS_ERROR", "wrong internal credentials");
    }
  }
}

let processSecret: string | undefined;

/**
 * The shared secret of gateway → domain calls. `domain.internalSecret` when
 * configured; it is required in the distributed profile, where gateway and
 * domain run as separate processes and must agree on it. The embedded
 * profile runs both roles in one process, which gets a random secret once,
 * shared by every role of the process and never written anywhere.
 * @throws Error in the distributed profile without `domain.internalSecret`
 */
export function resolveInternalSecret(config: {
  readonly profile: string;
  readonly domain: { readonly internalSecret?: string | undefined };
}): string {
  const configured = config.domain.internalSecret;
  if (configured !== undefined) return configured;
  if (config.profile === "distributed") {
    throw new Error(
      "config: domain.internalSecret (WHALESHARK_DOMAIN__INTERNAL_SECRET) is required by the distributed profile",
    );
  }
  processSecret ??= randomBytes(32).toString("base64url");
  return processSecret;
}
