import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryKvStore } from "../../../lib/adapters/memory/kv-store.js";
import { type MigratedTestDatabase, migratedTestDatabase } from "../../../lib/testing/migrated-database.js";
import { ChangeTokens } from "../cache/change-tokens.js";
import { ROLE } from "../group/groups.js";
import { GroupMembers, loadMemberIds } from "./group-members.js";

const APP = 10001;

describe("GroupMembers (per-process member lists under the group's change token)", () => {
  let database: MigratedTestDatabase;
  const kv = new MemoryKvStore();
  const tokens = new ChangeTokens(kv);
  /** Database reads of member rows, counted. */
  let loads = 0;
  const db = async () => {
    loads++;
    return database.db;
  };

  const addMembers = (groupId: string, ids: string[], role: number = ROLE.ORDINARY) =>
    database.db.groupMember.createMany({
      data: ids.map((memberId) => ({ appId: APP, groupId, memberId, role })),
    });

  beforeAll(async () => {
    database = await migratedTestDatabase(2);
    await addMembers("g1", ["owner"], ROLE.OWNER);
    await addMembers("g1", ["a", "b"]);
    await addMembers("g1", ["gone"], ROLE.LEAVE);
    await addMembers("g2", ["x"]);
  });
  afterAll(async () => {
    await database?.close();
    await kv.close();
  });

  it("lists current members in join order, without those who left", async () => {
    expect(await loadMemberIds(database.db, APP, "g1")).toEqual(["owner", "a", "b"]);
    expect(await loadMemberIds(database.db, APP, "nope")).toEqual([]);
  });

  it("reads the rows once while the group's token is unchanged, again after a bump", async () => {
    const members = new GroupMembers({ db, tokens });
    loads = 0;
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b"]);
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b"]);
    expect(await members.idsOf(APP, "g2")).toEqual(["x"]);
    expect(loads).toBe(2);
    expect(members.stats).toEqual({ hits: 1, misses: 2, size: 2 });

    // A write through the domain commits, then bumps (cache/change-tokens.ts).
    await addMembers("g1", ["c"]);
    await tokens.bumpGroup(APP, "g1");
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b", "c"]);
    expect(await members.idsOf(APP, "g2")).toEqual(["x"]);
    expect(loads).toBe(3);
  });

  it("sees a bump made by another domain process (shared kv)", async () => {
    const here = new GroupMembers({ db, tokens: new ChangeTokens(kv) });
    const there = new ChangeTokens(kv);
    expect(await here.idsOf(APP, "g2")).toEqual(["x"]);
    await database.db.groupMember.updateMany({
      where: { appId: APP, groupId: "g2", memberId: "x" },
      data: { role: ROLE.LEAVE },
    });
    await there.bumpGroup(APP, "g2");
    expect(await here.idsOf(APP, "g2")).toEqual([]);
  });

  it("re-reads a list older than maxAgeMs even without a bump (rows changed behind the domain)", async () => {
    let now = 1_000_000;
    const members = new GroupMembers({ db, tokens, maxAgeMs: 5_000, now: () => now });
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b", "c"]);
    await addMembers("g1", ["by-hand"]); // no bump
    now += 4_999;
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b", "c"]);
    now += 2;
    expect(await members.idsOf(APP, "g1")).toEqual(["owner", "a", "b", "c", "by-hand"]);
  });

  it("re-reads a list whose token was lost with kv (Redis wiped)", async () => {
    const members = new GroupMembers({ db, tokens });
    await members.idsOf(APP, "g2");
    loads = 0;
    await kv.del(ChangeTokens.group(APP, "g2"));
    await members.idsOf(APP, "g2");
    expect(loads).toBe(1);
  });

  it("keeps at most maxEntries groups", async () => {
    const members = new GroupMembers({ db, tokens, maxEntries: 1 });
    await members.idsOf(APP, "g1");
    await members.idsOf(APP, "g2");
    expect(members.stats.size).toBe(1);
  });
});
