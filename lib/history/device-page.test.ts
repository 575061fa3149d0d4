import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberRole } from "../../gen/ts/whaleshark/v1/enums.js";
import { openPgliteDatabase } from "../adapters/pglite/database.js";
import type { Database } from "../ports/db.js";
import { migratedTestDatabase } from "../testing/migrated-database.js";
import { devicePage } from "./device-page.js";

const APP = 10001;

/**
 * alice: P2P keys 10, 30, 50 (with bob); groups g1 (member from the start: keys 20, 40, 60) and
 * g2 (joined after sequence 2: keys 15, 25 are before her join, 35 after); g3 she left (key 70).
 */
async function seed(db: Database): Promise<void> {
  const p2p = [10, 30, 50];
  const group: Array<[string, number, number]> = [
    ["g1", 20, 1],
    ["g1", 40, 2],
    ["g1", 60, 3],
    ["g2", 15, 1],
    ["g2", 25, 2],
    ["g2", 35, 3],
    ["g3", 70, 1],
  ];
  await db.messageBody.createMany({
    data: [
      ...p2p.map((k, i) => ({
        messageKey: BigInt(k),
        appId: APP,
        conversationType: 0,
        fromId: i % 2 ? "bob" : "alice",
        toId: i % 2 ? "alice" : "bob",
        messageId: `p-${k}`,
        messageSequence: BigInt(i + 1),
        messageBody: `body ${k}`,
        messageTime: BigInt(k),
        createTime: BigInt(k),
      })),
      ...group.map(([g, k, seq]) => ({
        messageKey: BigInt(k),
        appId: APP,
        conversationType: 1,
        fromId: "carol",
        toId: g,
        messageId: `g-${k}`,
        messageSequence: BigInt(seq),
        messageBody: `body ${k}`,
        messageTime: BigInt(k),
        createTime: BigInt(k),
      })),
    ],
  });
  await db.messageHistory.createMany({
    data: p2p.map((k, i) => ({
      appId: APP,
      ownerId: "alice",
      peerId: "bob",
      fromId: i % 2 ? "bob" : "alice",
      toId: i % 2 ? "alice" : "bob",
      messageKey: BigInt(k),
      sequence: BigInt(i + 1),
      messageTime: BigInt(k),
      createTime: BigInt(k),
    })),
  });
  await db.groupMessageHistory.createMany({
    data: group.map(([g, k, seq]) => ({
      appId: APP,
      groupId: g,
      messageKey: BigInt(k),
      fromId: "carol",
      sequence: BigInt(seq),
      messageTime: BigInt(k),
      createTime: BigInt(k),
    })),
  });
  await db.groupMember.createMany({
    data: [
      { appId: APP, groupId: "g1", memberId: "alice", joinSequence: 0n },
      { appId: APP, groupId: "g2", memberId: "alice", joinSequence: 2n },
      {
        appId: APP,
        groupId: "g3",
        memberId: "alice",
        joinSequence: 0n,
        role: GroupMemberRole.GROUP_MEMBER_ROLE_LEAVE,
      },
    ],
  });
}

/** The client with the calls devicePage makes on it recorded (statements and body reads). */
function recording(db: Database) {
  const calls: string[] = [];
  const spy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "$queryRaw") {
        return (...args: unknown[]) => {
          calls.push("$queryRaw");
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === "messageBody" || prop === "messageHistory" || prop === "groupMessageHistory") {
        calls.push(String(prop));
      }
      return value;
    },
  });
  return { db: spy as Database, calls };
}

const keysOf = (rows: Array<{ messageKey: bigint }>) => rows.map((r) => Number(r.messageKey));

describe.each([
  ["PostgreSQL", () => migratedTestDatabase(2)],
  ["PGlite", () => openPgliteDatabase()],
] as const)("devicePage on %s", (_name, open) => {
  let handle: { db: Database; close(): Promise<void> };

  beforeAll(async () => {
    handle = await open();
    await seed(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("merges P2P and visible group messages in messageKey order, from each group's join point", async () => {
    const page = await devicePage(handle.db, { appId: APP, userId: "alice", afterKey: 0n, limit: 100 });
    expect(keysOf(page.rows)).toEqual([10, 20, 30, 35, 40, 50, 60]);
    expect(page.rows.map((r) => r.messageBody)).toEqual([10, 20, 30, 35, 40, 50, 60].map((k) => `body ${k}`));
    expect(page.completed).toBe(true);
    expect(page.maxSequence).toBe(60n); // not 70: she left g3
  });

  it("pages after an exclusive cursor and reports completion at an exact boundary", async () => {
    const first = await devicePage(handle.db, { appId: APP, userId: "alice", afterKey: 10n, limit: 3 });
    expect(keysOf(first.rows)).toEqual([20, 30, 35]);
    expect(first.completed).toBe(false);
    expect(first.maxSequence).toBe(60n);
    const last = await devicePage(handle.db, { appId: APP, userId: "alice", afterKey: 35n, limit: 3 });
    expect(keysOf(last.rows)).toEqual([40, 50, 60]);
    expect(last.completed).toBe(true);
  });

  it("answers a device with nothing new in one statement, reading no bodies, with the user's max", async () => {
    const { db, calls } = recording(handle.db);
    const page = await devicePage(db, { appId: APP, userId: "alice", afterKey: 60n, limit: 100 });
    expect(page).toEqual({ rows: [], completed: true, maxSequence: 60n });
    expect(calls).toEqual(["$queryRaw"]);
  });

  it("reads the bodies of a non-empty page with one more call", async () => {
    const { db, calls } = recording(handle.db);
    const page = await devicePage(db, { appId: APP, userId: "alice", afterKey: 40n, limit: 100 });
    expect(keysOf(page.rows)).toEqual([50, 60]);
    expect(calls).toEqual(["$queryRaw", "messageBody"]);
  });

  it("answers a user with nothing stored with an empty page and max 0", async () => {
    const page = await devicePage(handle.db, { appId: APP, userId: "nobody", afterKey: 0n, limit: 100 });
    expect(page).toEqual({ rows: [], completed: true, maxSequence: 0n });
  });
});
