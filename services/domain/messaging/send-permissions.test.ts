import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddBlackRequest } from "../../../gen/ts/whaleshark/v1/friendship_service.js";
import { RemoveGroupMemberRequest } from "../../../gen/ts/whaleshark/v1/group_member_service.js";
import { ModifyUserInfoRequest } from "../../../gen/ts/whaleshark/v1/user_service.js";
import { isImError } from "../../../lib/errors/index.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";
import { APP, type MessagingHarness, startMessagingHarness } from "../../../test/domain/messaging-harness.js";
import { blackHandlers } from "../friendship/black.js";
import { groupMemberHandlers } from "../group-member/group-member-service.js";
import { userHandlers } from "../users/user-service.js";
import { checkGroupSend, checkP2PSend } from "./send-checks.js";
import { SendPermissions } from "./send-permissions.js";

/**
 * The send checks' cache across domain processes: two SendPermissions on one
 * database and one kv stand for two domain processes; a change made through
 * the services on "the other process" stops the next send on this one.
 */
let h: MessagingHarness;
const flags = { checkFriendship: true, checkBlacklist: true };

/** An app admin's call, as the gRPC layer would describe it. */
const admin: RequestContext = {
  appId: APP,
  operator: "root",
  identifier: "root",
  device: { clientType: 0, imei: "" },
  isAdmin: async () => true,
  log: pino({ level: "silent" }),
};

async function codeOf(check: () => Promise<void>): Promise<number> {
  try {
    await check();
    return 200;
  } catch (error) {
    if (isImError(error)) return error.code;
    throw error;
  }
}

beforeAll(async () => {
  h = await startMessagingHarness();
  await h.users(["alice", "bob", "carol", "root"]);
  await h.friends("alice", "bob");
  await h.group("crew", ["alice", "bob", "carol"]);
});
afterAll(() => h?.close());

describe("SendPermissions", () => {
  it("answers repeated checks from the cache: one load per pair, then hits", async () => {
    const perms = new SendPermissions({ db: h.env.db, changes: h.env.changes });
    for (let i = 0; i < 5; i++) checkP2PSend(await perms.p2p(APP, "alice", "bob"), "alice", "bob", flags);
    expect(perms.stats()).toEqual({ hits: 4, misses: 1 });
  });

  it("sees a blacklist set on another process at the next send", async () => {
    const here = new SendPermissions({ db: h.env.db, changes: h.env.changes });
    const p2p = async () => checkP2PSend(await here.p2p(APP, "alice", "bob"), "alice", "bob", flags);
    expect(await codeOf(p2p)).toBe(200);
    expect(await codeOf(p2p)).toBe(200);
    // "The other process": the friendship service on the same database and kv.
    await blackHandlers(h.env).addBlack(AddBlackRequest.fromPartial({ fromId: "bob", toId: "alice" }), admin);
    expect(await codeOf(p2p)).toBe(30007);
  });

  it("sees a sender forbidden on another process at the next send", async () => {
    const here = new SendPermissions({ db: h.env.db, changes: h.env.changes });
    const p2p = async () => checkP2PSend(await here.p2p(APP, "carol", "carol"), "carol", "carol", flags);
    expect(await codeOf(p2p)).toBe(200);
    const modify = userHandlers(h.env).modifyUserInfo;
    await modify?.(ModifyUserInfoRequest.fromPartial({ userId: "carol", forbiddenFlag: 1 }), admin);
    expect(await codeOf(p2p)).toBe(50003);
    await modify?.(ModifyUserInfoRequest.fromPartial({ userId: "carol", forbiddenFlag: 0 }), admin);
    expect(await codeOf(p2p)).toBe(200);
  });

  it("sees a member removed on another process at the next group send", async () => {
    const here = new SendPermissions({ db: h.env.db, changes: h.env.changes });
    const send = async () => checkGroupSend(await here.group(APP, "bob", "crew"), "bob", "crew", Date.now());
    expect(await codeOf(send)).toBe(200);
    const remove = groupMemberHandlers(h.env).removeGroupMember;
    await remove?.(RemoveGroupMemberRequest.fromPartial({ groupId: "crew", memberId: "bob" }), admin);
    expect(await codeOf(send)).toBe(40006);
  });
});
