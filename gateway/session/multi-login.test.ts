import { describe, expect, it } from "vitest";
import { devicesToKick, LoginMode, shouldKick } from "./multi-login.js";

// ClientType numbers (spec §4.1).
const WEBAPI = 0;
const WEB = 1;
const IOS = 2;
const ANDROID = 3;
const WINDOWS = 4;
const MAC = 5;
const NAMES = ["WEBAPI", "WEB", "IOS", "ANDROID", "WINDOWS", "MAC"];
const ALL_TYPES = [WEBAPI, WEB, IOS, ANDROID, WINDOWS, MAC];

/**
 * Expected kicks for a new device N (row) against an existing device E (column) with another
 * imei, written out by hand from spec §4.3 rather than derived from the implementation.
 * Columns: WEBAPI WEB IOS ANDROID WINDOWS MAC.
 */
const TABLE: Record<LoginMode, number[][]> = {
  [LoginMode.ONE]: [
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1],
  ],
  [LoginMode.TWO]: [
    [1, 0, 1, 1, 1, 1], // N = WEBAPI: everything but WEB
    [0, 0, 0, 0, 0, 0], // N = WEB: nobody
    [1, 0, 1, 1, 1, 1],
    [1, 0, 1, 1, 1, 1],
    [1, 0, 1, 1, 1, 1],
    [1, 0, 1, 1, 1, 1],
  ],
  [LoginMode.THREE]: [
    [0, 0, 0, 0, 0, 0], // WEBAPI belongs to no class
    [0, 0, 0, 0, 0, 0], // WEB never kicks
    [0, 0, 1, 1, 0, 0], // mobile kicks mobile
    [0, 0, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 1], // desktop kicks desktop
    [0, 0, 0, 0, 1, 1],
  ],
  [LoginMode.ALL]: [
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
  ],
};

const cases = Object.entries(TABLE).flatMap(([mode, rows]) =>
  ALL_TYPES.flatMap((n) =>
    ALL_TYPES.map((e) => [Number(mode) as LoginMode, NAMES[n], n, NAMES[e], e, rows[n]?.[e] === 1] as const),
  ),
);

describe("multi-login rules (spec §4.3)", () => {
  it.each(cases)("mode %i: new %s (%i) vs existing %s (%i) → kick %s", (mode, _n, n, _e, e, kick) => {
    expect(shouldKick(mode, { clientType: n, imei: "new" }, { clientType: e, imei: "old" })).toBe(kick);
  });

  it.each([LoginMode.ONE, LoginMode.TWO, LoginMode.THREE, LoginMode.ALL])(
    "mode %i never kicks the same device (same type and imei)",
    (mode) => {
      for (const t of ALL_TYPES) {
        expect(shouldKick(mode, { clientType: t, imei: "x" }, { clientType: t, imei: "x" })).toBe(false);
      }
    },
  );

  it("picks exactly the kicked devices out of a user's sessions", () => {
    const existing = [
      { clientType: WEB, imei: "w", node: "a" },
      { clientType: IOS, imei: "i", node: "b" },
      { clientType: MAC, imei: "m", node: "a" },
      { clientType: ANDROID, imei: "a2", node: "b" },
    ];
    expect(devicesToKick(LoginMode.THREE, { clientType: ANDROID, imei: "a1" }, existing)).toEqual([
      existing[1],
      existing[3],
    ]);
    expect(devicesToKick(LoginMode.ONE, { clientType: ANDROID, imei: "a2" }, existing)).toEqual([
      existing[0],
      existing[1],
      existing[2],
    ]);
  });
});
