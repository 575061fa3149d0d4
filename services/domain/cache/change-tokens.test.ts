import { describe, expect, it } from "vitest";
import { WipeableKv } from "../../../lib/testing/wipeable-kv.js";
import { ChangeTokens } from "./change-tokens.js";
import { TokenCache } from "./token-cache.js";

const alice = ChangeTokens.user(1, "alice");
const crew = ChangeTokens.group(1, "crew");

describe("ChangeTokens", () => {
  it("keeps scopes apart: users vs groups, apps, ids that share a prefix", () => {
    const keys = [
      ChangeTokens.user(1, "a:b"),
      ChangeTokens.user(1, "a"),
      ChangeTokens.group(1, "a:b"),
      ChangeTokens.user(2, "a:b"),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("creates a missing token once, reads it stably, and replaces it on bump", async () => {
    const tokens = new ChangeTokens(new WipeableKv());
    const [first] = await tokens.read([alice]);
    expect(first).toMatch(/^[\w-]{12}$/);
    expect(await tokens.read([alice, alice])).toEqual([first, first]);
    await tokens.bumpUsers(1, ["alice"]);
    const [second] = await tokens.read([alice]);
    expect(second).not.toBe(first);
  });

  it("never hands out an earlier token again after kv lost its data", async () => {
    const kv = new WipeableKv();
    const tokens = new ChangeTokens(kv);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      for (const t of await tokens.read([alice, crew])) seen.add(t);
      kv.wipe();
    }
    expect(seen.size).toBe(40);
  });

  it("around bumps after the change, and also when the change failed", async () => {
    const tokens = new ChangeTokens(new WipeableKv());
    const [before] = await tokens.read([crew]);
    await expect(
      tokens.around([crew], async () => {
        throw new Error("failed after commit");
      }),
    ).rejects.toThrow("failed after commit");
    const [afterFailure] = await tokens.read([crew]);
    expect(afterFailure).not.toBe(before);
    expect(await tokens.around([crew], async () => 42)).toBe(42);
    expect((await tokens.read([crew]))[0]).not.toBe(afterFailure);
  });
});

describe("TokenCache", () => {
  function setup(opts: { maxEntries?: number; maxAgeMs?: number } = {}) {
    const kv = new WipeableKv();
    const tokens = new ChangeTokens(kv);
    let now = 1_000;
    const cache = new TokenCache<string>({
      tokens,
      maxEntries: opts.maxEntries ?? 100,
      maxAgeMs: opts.maxAgeMs ?? 60_000,
      now: () => now,
    });
    let loads = 0;
    const load = (value: string) => async () => {
      loads++;
      return value;
    };
    return { kv, tokens, cache, load, loads: () => loads, advance: (ms: number) => (now += ms) };
  }

  it("serves a hit while the tokens are unchanged and reloads after a bump of any scope", async () => {
    const t = setup();
    expect(await t.cache.get("k", [alice, crew], t.load("v1"))).toBe("v1");
    expect(await t.cache.get("k", [alice, crew], t.load("v2"))).toBe("v1");
    expect(t.loads()).toBe(1);
    await t.tokens.bumpGroup(1, "crew");
    expect(await t.cache.get("k", [alice, crew], t.load("v3"))).toBe("v3");
    expect(t.loads()).toBe(2);
    expect({ hits: t.cache.hits, misses: t.cache.misses }).toEqual({ hits: 1, misses: 2 });
  });

  it("reloads once an entry is older than maxAgeMs, whatever the tokens", async () => {
    const t = setup({ maxAgeMs: 500 });
    await t.cache.get("k", [alice], t.load("v1"));
    t.advance(499);
    expect(await t.cache.get("k", [alice], t.load("v2"))).toBe("v1");
    t.advance(1);
    expect(await t.cache.get("k", [alice], t.load("v3"))).toBe("v3");
  });

  it("reloads after kv lost its tokens", async () => {
    const t = setup();
    await t.cache.get("k", [alice], t.load("v1"));
    t.kv.wipe();
    expect(await t.cache.get("k", [alice], t.load("v2"))).toBe("v2");
  });

  it("keeps the copy read under the older token stale when a change lands during the load", async () => {
    const t = setup();
    // The load reads the rows before the change commits; the change bumps while the load runs.
    const slow = async () => {
      await t.tokens.bumpUsers(1, ["alice"]);
      return "before the change";
    };
    expect(await t.cache.get("k", [alice], slow)).toBe("before the change");
    expect(await t.cache.get("k", [alice], t.load("after the change"))).toBe("after the change");
  });

  it("evicts the least recently used entry beyond maxEntries", async () => {
    const t = setup({ maxEntries: 2 });
    await t.cache.get("a", [alice], t.load("a"));
    await t.cache.get("b", [alice], t.load("b"));
    await t.cache.get("a", [alice], t.load("a2")); // a is now the most recent
    await t.cache.get("c", [alice], t.load("c")); // evicts b
    expect(t.cache.size).toBe(2);
    expect(await t.cache.get("a", [alice], t.load("a3"))).toBe("a");
    expect(await t.cache.get("b", [alice], t.load("b2"))).toBe("b2");
  });
});
