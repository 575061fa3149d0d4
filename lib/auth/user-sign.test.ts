import { deflateSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { isImError } from "../errors/index.js";
import { generateUserSign, verifyUserSign } from "./index.js";

/** The real token of spec §6.2: appId 10001, identifier "bantanger", key "bantanger", valid to 1780447391. */
const SPEC_TOKEN =
  "eJyrVgrxCdZLrSjILEpVsjI0gAIdsHBiQYFnCkTUUAdJYUhmLkixmYWBiYm5sSVULjMlNa8kMy0ztUjJSikpMa8kMS8dyIZIFmemA0XziiJzQs0tvVLK-IPLjE1K9XOTMs3KyiL9w0qTwkMCsg1CLI2Kg-wiqyIibZVqAQHCL7I_";

const SPEC = { token: SPEC_TOKEN, appId: 10001, identifier: "bantanger", privateKey: "bantanger" };

/** The code of the ImError `fn` throws; fails the test if it throws anything else or nothing. */
function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    expect(isImError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).not.toContain(SPEC_TOKEN.slice(0, 20));
    expect(message).not.toContain("bantanger");
    return (error as { code: number }).code;
  }
  throw new Error("expected an ImError");
}

/** Token text → its JSON document (test-side decoder, independent of the code under test). */
function decodeToken(token: string): Record<string, unknown> {
  const base64 = token.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
  return JSON.parse(inflateSync(Buffer.from(base64, "base64")).toString("utf8"));
}

/** Any text → a token-shaped string (deflate + the custom base64 alphabet). */
function encodeRaw(text: string): string {
  return deflateSync(Buffer.from(text))
    .toString("base64")
    .replace(/\+/g, "*")
    .replace(/\//g, "-")
    .replace(/=/g, "_");
}

const encodeToken = (doc: Record<string, unknown>) => encodeRaw(JSON.stringify(doc));

/** Replaces the character at `index` with a different one of the token alphabet. */
function flip(token: string, index: number): string {
  const c = token[index] === "A" ? "B" : "A";
  return token.slice(0, index) + c + token.slice(index + 1);
}

describe("verifyUserSign", () => {
  it("accepts the spec's real token before it expires", () => {
    expect(verifyUserSign({ ...SPEC, now: 1_700_000_000 })).toEqual({
      expiresAt: 1_780_447_391,
      issuedAt: 1_680_447_391,
    });
    expect(verifyUserSign({ ...SPEC, now: 1_780_447_391 }).expiresAt).toBe(1_780_447_391);
  });

  it("rejects the spec's token one second after expiry with 60004", () => {
    expect(codeOf(() => verifyUserSign({ ...SPEC, now: 1_780_447_392 }))).toBe(60004);
  });

  it("rejects a tampered signature with 60003", () => {
    const doc = decodeToken(SPEC_TOKEN);
    const sig = String(doc["TLS.sig"]);
    const tampered = encodeToken({ ...doc, "TLS.sig": (sig[0] === "A" ? "B" : "A") + sig.slice(1) });
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: tampered, now: 1_700_000_000 }))).toBe(60003);
    // a longer extended lifetime with the old signature fails too
    const extended = encodeToken({ ...doc, "TLS.expire": 200_000_000 });
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: extended, now: 1_790_000_000 }))).toBe(60003);
    // a flipped character in the token itself breaks the zlib checksum or the signature
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: flip(SPEC_TOKEN, 60), now: 1_700_000_000 }))).toBe(
      60003,
    );
  });

  it("rejects documents with missing or mistyped fields with 60003", () => {
    const doc = decodeToken(SPEC_TOKEN);
    for (const field of ["TLS.sig", "TLS.expireTime", "TLS.identifier", "TLS.appId", "TLS.expire"]) {
      const { [field]: _dropped, ...rest } = doc;
      expect(
        codeOf(() => verifyUserSign({ ...SPEC, token: encodeToken(rest), now: 1_700_000_000 })),
        field,
      ).toBe(60003);
    }
    const typed = encodeToken({ ...doc, "TLS.expireTime": "1680447391" });
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: typed, now: 1_700_000_000 }))).toBe(60003);
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: encodeRaw("[1,2]"), now: 1_700_000_000 }))).toBe(
      60003,
    );
    expect(codeOf(() => verifyUserSign({ ...SPEC, token: encodeRaw("{not json"), now: 1_700_000_000 }))).toBe(
      60003,
    );
  });

  it("rejects a token issued further in the future than the clock skew allows with 60003", () => {
    const base = { appId: 10001, identifier: "u1", privateKey: "app-secret-1" };
    const now = 1_700_000_000;
    const issued = (ahead: number) => generateUserSign({ ...base, expireSeconds: 3600, now: now + ahead });
    // Default skew: one minute.
    expect(verifyUserSign({ ...base, token: issued(60), now }).issuedAt).toBe(now + 60);
    expect(codeOf(() => verifyUserSign({ ...base, token: issued(61), now }))).toBe(60003);
    // A configured skew (auth.maxClockSkewMs), also 0.
    expect(codeOf(() => verifyUserSign({ ...base, token: issued(11), now, maxClockSkewMs: 10_000 }))).toBe(
      60003,
    );
    expect(verifyUserSign({ ...base, token: issued(10), now, maxClockSkewMs: 10_000 }).issuedAt).toBe(
      now + 10,
    );
    expect(codeOf(() => verifyUserSign({ ...base, token: issued(1), now, maxClockSkewMs: 0 }))).toBe(60003);
    expect(verifyUserSign({ ...base, token: issued(0), now, maxClockSkewMs: 0 }).issuedAt).toBe(now);
    // A year ahead with a long lifetime: refused, not "valid for a year and more".
    const farAhead = generateUserSign({ ...base, expireSeconds: 10 * 365 * 86_400, now: now + 365 * 86_400 });
    expect(codeOf(() => verifyUserSign({ ...base, token: farAhead, now }))).toBe(60003);
  });

  it("rejects wrong app 60003, wrong user 60005, wrong key 60003", () => {
    expect(codeOf(() => verifyUserSign({ ...SPEC, appId: 10002, now: 1_700_000_000 }))).toBe(60003);
    expect(codeOf(() => verifyUserSign({ ...SPEC, identifier: "someone", now: 1_700_000_000 }))).toBe(60005);
    expect(codeOf(() => verifyUserSign({ ...SPEC, privateKey: "other-key", now: 1_700_000_000 }))).toBe(
      60003,
    );
  });

  it("rejects garbage and malformed tokens with 60003, never crashing", () => {
    for (const token of [
      "",
      "garbage!",
      "not a token",
      "AAAA",
      "eJyrVgrxCdZLrSjIL",
      "*-_*",
      "x".repeat(5000),
    ]) {
      expect(
        codeOf(() => verifyUserSign({ ...SPEC, token, now: 1_700_000_000 })),
        token,
      ).toBe(60003);
    }
  });
});

describe("generateUserSign", () => {
  const base = { appId: 10001, identifier: "u1", privateKey: "app-secret-1", now: 1_700_000_000 };

  it("round-trips through verifyUserSign", () => {
    const token = generateUserSign({ ...base, expireSeconds: 3600 });
    expect(token).toMatch(/^[A-Za-z0-9*-]+_*$/);
    expect(verifyUserSign({ ...base, token })).toEqual({ expiresAt: 1_700_003_600, issuedAt: 1_700_000_000 });
    expect(codeOf(() => verifyUserSign({ ...base, token, now: 1_700_003_601 }))).toBe(60004);
  });

  it("writes the original's document: field order, numbers, HMAC of the content string", () => {
    const token = generateUserSign({ ...SPEC, expireSeconds: 100_000_000, now: 1_680_447_391 });
    expect(JSON.stringify(decodeToken(token))).toBe(
      '{"TLS.expire":100000000,"TLS.appId":10001,"TLS.expireTime":1680447391,"TLS.identifier":"bantanger","TLS.sig":"nrYlU79JdvOSv34u/mbi6vvYOVubWTPk0T92sRNYzXY="}',
    );
  });

  it("makes tokens with expire 0 that never verify (60004)", () => {
    const token = generateUserSign({ ...base, expireSeconds: 0 });
    expect(codeOf(() => verifyUserSign({ ...base, token }))).toBe(60004);
  });
});
