import { createHmac, timingSafeEqual } from "node:crypto";
import { deflateSync, inflateSync } from "node:zlib";
import { ImError } from "../errors/index.js";

/**
 * userSign tokens of the original (spec §6.2, "HMAC-SHA256"): a zlib-deflated JSON document
 * `{"TLS.expire","TLS.appId","TLS.expireTime","TLS.identifier","TLS.sig"}` in base64 with the
 * URL-ish alphabet `+`→`*`, `/`→`-`, `=`→`_`. `TLS.expireTime` is really the ISSUE time (seconds);
 * the token is valid until `expireTime + expire`.
 *
 * Verification recomputes the HMAC instead of re-encoding the whole token as the original does:
 * Node's zlib output differs from Java's, so whole-token comparison cannot work across stacks.
 * Every failure is an ImError; messages never contain the token or the key.
 */

/** Inputs of {@link generateUserSign}. */
export interface GenerateUserSignInput {
  appId: number;
  identifier: string;
  privateKey: string;
  /** Lifetime in seconds (`TLS.expire`); 0 makes a token that never verifies. */
  expireSeconds: number;
  /** Issue time in Unix seconds; default now. */
  now?: number;
}

/** Inputs of {@link verifyUserSign}. */
export interface VerifyUserSignInput {
  token: string;
  appId: number;
  identifier: string;
  privateKey: string;
  /** Current time in Unix seconds; default now. */
  now?: number;
  /**
   * How far in the future a token's issue time may lie, in ms (config `auth.maxClockSkewMs`;
   * default {@link DEFAULT_MAX_CLOCK_SKEW_MS}): the issuer's clock may run ahead of ours by this much.
   */
  maxClockSkewMs?: number;
}

/**
 * Default of `auth.maxClockSkewMs`: one minute. A token issued further ahead was not made by an
 * issuer with a sane clock; accepting it would stretch its life past its `TLS.expire` and let it
 * outlive a revocation (a revocation refuses tokens issued BEFORE its cut-off).
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000;

/** Upper bounds that keep a hostile token from costing memory (a zlib bomb) or CPU. */
const MAX_TOKEN_CHARS = 4096;
const MAX_INFLATED_BYTES = 16 * 1024;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The signed content string, byte for byte as the original builds it (no userbuf). */
function content(identifier: string, appId: string, expireTime: number, expire: number): string {
  return `TLS.identifier:${identifier}\nTLS.appId:${appId}\nTLS.expireTime:${expireTime}\nTLS.expire:${expire}\n`;
}

function hmac(privateKey: string, text: string): string {
  return createHmac("sha256", Buffer.from(privateKey, "utf8")).update(text, "utf8").digest("base64");
}

/**
 * Issues a token in the original's format; tokens it makes verify in the original and here.
 * @throws RangeError for a non-integer or negative expireSeconds or now
 */
export function generateUserSign(input: GenerateUserSignInput): string {
  const { appId, identifier, privateKey, expireSeconds } = input;
  const now = input.now ?? nowSeconds();
  if (!Number.isSafeInteger(expireSeconds) || expireSeconds < 0 || !Number.isSafeInteger(now) || now < 0) {
    throw new RangeError("userSign expireSeconds and now must be non-negative integers");
  }
  const sig = hmac(privateKey, content(identifier, String(appId), now, expireSeconds));
  // Insertion order = the order Java's HashMap serialised (spec §6.2 step 4).
  const document = {
    "TLS.expire": expireSeconds,
    "TLS.appId": appId,
    "TLS.expireTime": now,
    "TLS.identifier": identifier,
    "TLS.sig": sig,
  };
  const base64 = deflateSync(Buffer.from(JSON.stringify(document), "utf8")).toString("base64");
  return base64.replace(/\+/g, "*").replace(/\//g, "-").replace(/=/g, "_");
}

interface SignDocument {
  identifier: string;
  appId: string;
  expireTime: number;
  expire: number;
  sig: string;
}

/** Decodes a token into its fields, or throws 60003 (fixes D35: a malformed token was an NPE/500). */
function decode(token: string): SignDocument {
  const malformed = () => ImError.of("USERSIGN_IS_ERROR", "malformed userSign");
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS) throw malformed();
  if (!/^[A-Za-z0-9*-]+_{0,2}$/.test(token)) throw malformed();
  const base64 = token.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
  let parsed: unknown;
  try {
    const json = inflateSync(Buffer.from(base64, "base64"), { maxOutputLength: MAX_INFLATED_BYTES });
    parsed = JSON.parse(json.toString("utf8"));
  } catch (error) {
    throw ImError.of("USERSIGN_IS_ERROR", "malformed userSign", { cause: error });
  }
  if (typeof parsed !== "object" || parsed === null) throw malformed();
  const doc = parsed as Record<string, unknown>;
  const identifier = doc["TLS.identifier"];
  const appId = doc["TLS.appId"];
  const expireTime = doc["TLS.expireTime"];
  const expire = doc["TLS.expire"];
  const sig = doc["TLS.sig"];
  if (
    typeof identifier !== "string" ||
    !(typeof appId === "number" || typeof appId === "string") ||
    !Number.isSafeInteger(expireTime) ||
    !Number.isSafeInteger(expire) ||
    typeof sig !== "string"
  ) {
    throw malformed();
  }
  return {
    identifier,
    appId: String(appId),
    expireTime: expireTime as number,
    expire: expire as number,
    sig,
  };
}

/** What a verified token says about itself. */
export interface VerifiedUserSign {
  /** Expiry in Unix seconds (`expireTime + expire`), e.g. to cache the result until then. */
  expiresAt: number;
  /** Issue time in Unix seconds (`TLS.expireTime`), checked against revocations. */
  issuedAt: number;
}

/**
 * Verifies a token for (appId, identifier) with the app's private key, in the original's check
 * order (spec §6.2): identifier → 60005, appId → 60003, expiry → 60004, signature → 60003; and
 * (a WhaleShark addition, issue 13) a token issued more than `maxClockSkewMs` in the future →
 * 60003, checked with the expiry, before the signature.
 * @throws ImError USERSIGN_IS_ERROR (60003), USERSIGN_IS_EXPIRED (60004) or
 *   USERSIGN_OPERATE_NOT_MATE (60005)
 */
export function verifyUserSign(input: VerifyUserSignInput): VerifiedUserSign {
  const { token, appId, identifier, privateKey } = input;
  const now = input.now ?? nowSeconds();
  const skewMs = input.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const doc = decode(token);
  if (doc.identifier !== identifier) throw ImError.of("USERSIGN_OPERATE_NOT_MATE");
  if (doc.appId !== String(appId)) throw ImError.of("USERSIGN_IS_ERROR", "appId mismatch");
  const expiresAt = doc.expireTime + doc.expire;
  if (doc.expire === 0 || expiresAt < now) throw ImError.of("USERSIGN_IS_EXPIRED");
  // `now` is whole seconds (rounded down), so the bound is exact to within one second.
  if (doc.expireTime * 1000 > now * 1000 + skewMs) {
    throw ImError.of("USERSIGN_IS_ERROR", "userSign issued in the future");
  }
  const expected = Buffer.from(
    hmac(privateKey, content(doc.identifier, doc.appId, doc.expireTime, doc.expire)),
  );
  const given = Buffer.from(doc.sig);
  // timingSafeEqual needs equal lengths; a length mismatch is a mismatch anyway.
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw ImError.of("USERSIGN_IS_ERROR", "signature mismatch");
  }
  return { expiresAt, issuedAt: doc.expireTime };
}
