import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BUMP,
  brokenRules,
  CONVERSATION_STORE,
  CONVERSATION_WRITE,
  GROUP_ROWS,
  GROUP_ROWS_IMPORT,
  GROUP_SCOPE_WRITE,
  GROUP_STORE,
  USER_ROW_WRITERS_OUTSIDE_STORES,
  USER_SCOPE_WRITE,
} from "./change-token-owners.js";
import { sourceFiles } from "./imports.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The rules are in change-token-owners.ts; this applies them to services/domain. */
function domainFiles(): string[] {
  return sourceFiles(ROOT, ["services/domain"]).filter((f) => !f.endsWith(".test.ts"));
}

describe("change-token bumps live in the aggregates' stores", () => {
  it("no handler bumps by hand, and every write of a cached row goes through its store", () => {
    const broken = domainFiles().flatMap((f) => brokenRules(f, readFileSync(join(ROOT, f), "utf8")));
    expect(broken).toEqual([]);
  });

  it("the stores exist and do bump, and conversation rows are written in theirs (the rules above are not vacuous)", () => {
    for (const store of [
      "services/domain/friendship/friendship-store.ts",
      "services/domain/users/user-store.ts",
      "services/domain/group/group-store.ts",
    ]) {
      expect(readFileSync(join(ROOT, store), "utf8"), store).toMatch(BUMP);
    }
    for (const file of USER_ROW_WRITERS_OUTSIDE_STORES.keys()) {
      expect(readFileSync(join(ROOT, file), "utf8"), file).toMatch(USER_SCOPE_WRITE);
    }
    expect(readFileSync(join(ROOT, CONVERSATION_STORE), "utf8")).toMatch(CONVERSATION_WRITE);
    for (const file of [GROUP_STORE, GROUP_ROWS]) {
      expect(readFileSync(join(ROOT, file), "utf8"), file).toMatch(GROUP_SCOPE_WRITE);
    }
    expect(readFileSync(join(ROOT, GROUP_STORE), "utf8")).toMatch(GROUP_ROWS_IMPORT);
  });

  it("catches each kind of break", () => {
    const handler = "services/domain/friendship/friendship-service.ts";
    expect(brokenRules(handler, "await env.changes.around([s], () => f());")).toHaveLength(1);
    expect(brokenRules(handler, "await env.changes.bumpUsers(1, [a]);")).toHaveLength(1);
    expect(brokenRules(handler, "return bumpingGroupWrites(env, h, []);")).toHaveLength(1);
    expect(brokenRules(handler, "await tx.friendship.update({ where });")).toHaveLength(1);
    expect(brokenRules(handler, "await db.userData.updateMany({ where });")).toHaveLength(1);
    expect(brokenRules(handler, "await transaction(db, async (tx) => tx.group.update({}));")).toHaveLength(1);
    expect(brokenRules(handler, "await db.groupMember.update({ where });")).toHaveLength(1);
    // Group writes in a handler fail even on a transaction that bumps (what the handlers did
    // before the writes moved into GroupStore), and so does a row helper imported from its module.
    expect(brokenRules(handler, "groups.change(1, g, (tx) => tx.group.update({}))")).toHaveLength(1);
    expect(brokenRules(handler, "groups.change(1, g, (tx) => tx.groupMember.updateMany({}))")).toHaveLength(
      1,
    );
    expect(brokenRules(handler, 'import { addMembers } from "../group/group-rows.js";')).toHaveLength(1);
    expect(brokenRules(handler, "await tx.$executeRaw`UPDATE im_group_member SET role = 3`;")).toHaveLength(
      1,
    );
    // Another aggregate's store may not write group rows either.
    expect(brokenRules(handler.replace("-service", "-store"), "tx.group.create({ data })")).toHaveLength(1);
    expect(brokenRules(handler, "await tx.conversationSet.upsert({ where });")).toHaveLength(1);
    expect(
      brokenRules(handler, "await db.$executeRaw`UPDATE im_conversation_set SET del_flag = 1`;"),
    ).toHaveLength(1);
    // Another aggregate's store may not write conversation rows either (it calls ensureConversations).
    expect(
      brokenRules(handler.replace("-service", "-store"), "tx.conversationSet.createMany({ data })"),
    ).toHaveLength(1);
    // What is allowed: a store's bump, group writes in GroupStore and its row helpers, a call of a
    // GroupStore method, conversation writes in their store, join requests, reads, comments.
    expect(brokenRules("services/domain/x/x-store.ts", "this.#env.changes.around(s, f)")).toEqual([]);
    expect(brokenRules(GROUP_STORE, "tx.group.update({}); tx.groupMember.updateMany({});")).toEqual([]);
    expect(brokenRules(GROUP_STORE, 'import { addMembers } from "./group-rows.js";')).toEqual([]);
    expect(brokenRules(GROUP_ROWS, "await tx.groupMember.createMany({ data });")).toEqual([]);
    expect(brokenRules(handler, "await groups.addMembers(1, g, items, opts);")).toEqual([]);
    expect(brokenRules(handler, "await db.groupJoinRequest.upsert({ where });")).toEqual([]);
    expect(
      brokenRules(handler, "tx.$queryRaw`SELECT 1 FROM im_group WHERE group_id = g FOR UPDATE`"),
    ).toEqual([]);
    expect(brokenRules(CONVERSATION_STORE, "await tx.conversationSet.updateMany({ where, data });")).toEqual(
      [],
    );
    expect(brokenRules(handler, "await db.friendship.findMany({ where });")).toEqual([]);
    expect(brokenRules(handler, "await db.conversationSet.findMany({ where });")).toEqual([]);
    expect(brokenRules(handler, "db.$queryRaw`SELECT 1 FROM im_conversation_set c`")).toEqual([]);
    expect(brokenRules(handler, "// env.changes.around(scopes, f) was here")).toEqual([]);
  });
});
