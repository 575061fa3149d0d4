import { describe, expect, it } from "vitest";
import { groupChangeTokenKey, userChangeTokenKey } from "./change-token-keys.js";

describe("change-token keys", () => {
  it("keep the layout of docs/kv-keys.md (a running deployment's tokens stay valid)", () => {
    expect(userChangeTokenKey(10001, "alice")).toBe("10001:chg:u:5:alice");
    expect(groupChangeTokenKey(10001, "crew")).toBe("10001:chg:g:4:crew");
  });

  it("keep scopes apart: users vs groups, apps, ids that share a prefix", () => {
    const keys = [
      userChangeTokenKey(1, "a:b"),
      userChangeTokenKey(1, "a"),
      groupChangeTokenKey(1, "a:b"),
      userChangeTokenKey(2, "a:b"),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
