import { describe, expect, it } from "vitest";
import { ConsistentHashRing, routeHash } from "./consistent-hash.js";

// Vectors computed outside this code from the spec §4.6 algorithm: `printf %s VALUE | md5sum`,
// first 4 digest bytes reversed (little-endian), read as an unsigned 32-bit number.
const HASHES: Array<[string, number]> = [
  ["u1", 3_712_776_164], // md5 e4774cdd... → dd4c77e4
  ["10001", 893_034_456], // md5 d89f3a35... → 353a9fd8
  ["127.0.0.1:19001", 4_227_670_943], // md5 9f23fdfb... → fbfd239f
  ["127.0.0.1:19011", 3_974_205_044], // md5 748ee1ec... → ece18e74
  ["node42276709430", 141_810_671], // virtual node 0 of 127.0.0.1:19001
  ["node42276709431", 1_433_342_401], // virtual node 1 of 127.0.0.1:19001
  ["node39742050440", 1_576_961_822], // virtual node 0 of 127.0.0.1:19011
  ["node39742050441", 3_464_788_447], // virtual node 1 of 127.0.0.1:19011
  ["", 3_649_838_548], // md5 d41d8cd9... → d98c1dd4
];

const A = "127.0.0.1:19001";
const B = "127.0.0.1:19011";

describe("routeHash", () => {
  it.each(HASHES)("hash(%j) = %i", (value, expected) => {
    expect(routeHash(value)).toBe(expected);
  });

  it("hashes UTF-8 bytes, not UTF-16 code units", () => {
    // printf %s 鲸 | md5sum → fd7be996...: little-endian 96e97bfd
    expect(routeHash("鲸")).toBe(0x96e97bfd);
  });
});

describe("ConsistentHashRing", () => {
  it("places each node at its hash and at 2 virtual nodes named node<hash><i>", () => {
    const ring = new ConsistentHashRing([B, A]);
    expect(ring.entries()).toEqual([
      [141_810_671, A],
      [1_433_342_401, A],
      [1_576_961_822, B],
      [3_464_788_447, B],
      [3_974_205_044, B],
      [4_227_670_943, A],
    ]);
  });

  it.each([
    ["u1", B], // 3712776164 → next point 3974205044 (B, real node)
    ["10001", A], // 893034456 → 1433342401 (A, virtual)
    ["user62", A], // 100272279 → 141810671 (A, virtual 0)
    ["user90", B], // 1461547795 → 1576961822 (B, virtual 0)
    ["user45", A], // 4272229119 is past the last point: wraps to 141810671 (A)
    [A, A], // a key equal to a point maps to that point (>=, not >)
  ])("routes %j to %s", (user, node) => {
    expect(new ConsistentHashRing([A, B]).lookup(user)).toBe(node);
  });

  it("gives the same answer whatever order the registry listed the nodes in", () => {
    const users = Array.from({ length: 200 }, (_, i) => `user${i}`);
    const ab = new ConsistentHashRing([A, B]);
    const ba = new ConsistentHashRing([B, A, B]);
    expect(users.map((u) => ba.lookup(u))).toEqual(users.map((u) => ab.lookup(u)));
  });

  it("moves only the users of a node that left", () => {
    const C = "10.0.0.3:19001";
    const before = new ConsistentHashRing([A, B, C]);
    const after = new ConsistentHashRing([A, B]);
    for (let i = 0; i < 300; i++) {
      const user = `user${i}`;
      const was = before.lookup(user);
      if (was !== C) expect(after.lookup(user), user).toBe(was);
    }
  });

  it("is empty without nodes", () => {
    const ring = new ConsistentHashRing([]);
    expect(ring.size).toBe(0);
    expect(ring.lookup("u1")).toBeUndefined();
  });
});
