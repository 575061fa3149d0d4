import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import {
  AddGroupMembersRequest,
  ImportGroupMembersRequest,
} from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { DeadlineExceeded } from "../../lib/grpc/deadline.js";
import type { RequestContext } from "../../lib/grpc/serve.js";
import { MEMBER_CHUNK } from "../../services/domain/group-member/chunks.js";
import { groupMemberHandlers } from "../../services/domain/group-member/group-member-service.js";
import { CONFIG_ADMIN, type DomainHarness, startDomainHarness } from "./harness.js";

/**
 * AddGroupMembers / ImportGroupMembers in short transactions with the caller's deadline checked
 * between them (services/domain/group-member/chunks.ts, issue 13 item 3), on PostgreSQL: the
 * handlers are called directly with a context whose signal the test aborts.
 */

let h: DomainHarness;
beforeAll(async () => {
  h = await startDomainHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A context as serve() makes it for `operator`, with `signal`. */
function context(operator: string, signal: AbortSignal): RequestContext {
  return {
    appId: 10001,
    operator,
    identifier: operator,
    device: { clientType: 0, imei: "" },
    isAdmin: async () => operator === CONFIG_ADMIN,
    log: pino({ level: "silent" }),
    signal,
  };
}

/** An owner and `n` users, and a fresh private group of the owner's. */
async function bigGroup(prefix: string, n: number) {
  const owner = h.id(`${prefix}-owner`);
  const members = Array.from({ length: n }, (_, i) => h.id(`${prefix}-m${i}`));
  await h.users([owner, ...members]);
  await h.online(owner, 1, "web");
  const { groupId } = await h
    .as(GroupServiceService, owner)
    .createGroup({ groupType: GroupType.GROUP_TYPE_PRIVATE });
  await h.pushes();
  const rows = () => h.db.groupMember.count({ where: { groupId, role: { not: 3 } } });
  return { owner, members, groupId, rows };
}

describe("member lists in short transactions, abandoned at the deadline", () => {
  const handlers = () => groupMemberHandlers(h.env);

  it("writes nothing for a caller whose deadline had passed before the call started", async () => {
    const g = await bigGroup("gone", 30);
    const expired = AbortSignal.abort(new DeadlineExceeded("deadline"));
    const req = AddGroupMembersRequest.fromPartial({
      groupId: g.groupId,
      members: g.members.map((memberId) => GroupMemberItem.fromPartial({ memberId })),
    });
    await expect(handlers().addGroupMembers?.(req, context(g.owner, expired))).rejects.toThrow(
      DeadlineExceeded,
    );
    const importReq = ImportGroupMembersRequest.fromPartial({ groupId: g.groupId, members: req.members });
    await expect(handlers().importGroupMembers?.(importReq, context(CONFIG_ADMIN, expired))).rejects.toThrow(
      DeadlineExceeded,
    );
    expect(await g.rows()).toBe(1); // the owner only
    expect(await h.pushes()).toEqual([]);
  });

  it("stops at the next transaction once the deadline passes, keeping and announcing what it added", async () => {
    const g = await bigGroup("late", 3 * MEMBER_CHUNK + 5);
    const controller = new AbortController();
    // The deadline passes as soon as the first member row exists.
    const watch = setInterval(() => {
      void g.rows().then((n) => {
        if (n > 1) controller.abort(new DeadlineExceeded("deadline"));
      });
    }, 1);
    const req = AddGroupMembersRequest.fromPartial({
      groupId: g.groupId,
      members: g.members.map((memberId) => GroupMemberItem.fromPartial({ memberId })),
    });
    try {
      await expect(handlers().addGroupMembers?.(req, context(g.owner, controller.signal))).rejects.toThrow(
        DeadlineExceeded,
      );
    } finally {
      clearInterval(watch);
    }
    const added = (await g.rows()) - 1;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThan(g.members.length);
    await new Promise((r) => setTimeout(r, 300));
    expect((await g.rows()) - 1).toBe(added); // nothing more after the stop
    // The owner heard of exactly the members added.
    const addedPushes = (await h.pushes()).filter(
      (p) => p.userId === g.owner && p.command === Command.COMMAND_ADDED_MEMBER,
    );
    expect(addedPushes).toHaveLength(1);
    expect((addedPushes[0]?.data.members as string[] | undefined)?.length).toBe(added);
  });

  it("adds a list longer than one transaction completely, with one notification", async () => {
    const g = await bigGroup("all", 2 * MEMBER_CHUNK + 3);
    const req = AddGroupMembersRequest.fromPartial({
      groupId: g.groupId,
      members: g.members.map((memberId) => GroupMemberItem.fromPartial({ memberId })),
    });
    const res = await handlers().addGroupMembers?.(req, context(g.owner, new AbortController().signal));
    expect(res?.results.map((r) => r.result)).toEqual(g.members.map(() => 0));
    expect(await g.rows()).toBe(g.members.length + 1);
    const toOwner = (await h.pushes()).filter(
      (p) => p.userId === g.owner && p.command === Command.COMMAND_ADDED_MEMBER,
    );
    expect(toOwner).toHaveLength(1);
  });
});
