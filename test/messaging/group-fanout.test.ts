import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import type { MessageAck } from "../../gen/ts/whaleshark/v1/message.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { eventually } from "../support/harness/eventually.js";
import { ADMIN, APP, type Cluster, startCluster } from "./support/cluster.js";
import type { TestDevice } from "./support/device.js";
import { settled } from "./support/settle.js";

/**
 * Group fan-out at size (issue 6 item 6): a group of 500 members made through UserService,
 * GroupService and GroupMemberService as the app admin, 100 of them online on two gateways (TCP and
 * WebSocket), messages from several members at once. Each online member's device gets each
 * message exactly once (counted on the wire by the gateways' frames_out_total as well as by the
 * SDK) and in sequence order. Offline members get them all when they connect, through the SDK's
 * catch-up, in order; all 400 can read them from the store's history: one stored copy (read
 * diffusion).
 */

const MEMBERS = 500;
const ONLINE = 100;
const SENDERS = 10;
const PER_SENDER = 5;
/** Offline members who connect afterwards and catch up through the SDK. */
const LATE = 20;
const GROUP = "big-group";
const id = (i: number) => `m${String(i).padStart(3, "0")}`;

describe("a group of 500 with 100 members online on two gateways", () => {
  let cluster: Cluster;
  const online: TestDevice[] = [];
  const acks: MessageAck[] = [];

  /** frames_out_total{command="2104"} summed over both gateways. */
  const groupFramesOut = async () => {
    let sum = 0;
    for (const g of cluster.gateways) {
      const metric = g.metrics.getSingleMetric("whaleshark_gateway_frames_out_total");
      for (const v of (await metric?.get())?.values ?? []) if (v.labels.command === "2104") sum += v.value;
    }
    return sum;
  };

  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2 });
    const users = cluster.domainService(UserServiceService);
    const members = Array.from({ length: MEMBERS }, (_, i) => id(i));
    for (let i = 0; i < MEMBERS; i += 100) {
      const chunk = members.slice(i, i + 100);
      const res = await users.importUsers({
        userData: chunk.map((userId) => UserData.fromPartial({ userId, nickName: userId, userType: 1 })),
      });
      expect(res.successId.length).toBe(chunk.length);
    }
    await cluster.domainService(GroupServiceService).importGroup({
      groupId: GROUP,
      groupName: "five hundred",
      ownerId: id(0),
      groupType: GroupType.GROUP_TYPE_PRIVATE,
    });
    const memberService = cluster.domainService(GroupMemberServiceService);
    for (let i = 0; i < MEMBERS; i += 100) {
      const res = await memberService.importGroupMembers({
        groupId: GROUP,
        members: members
          .slice(i, i + 100)
          .map((memberId) => GroupMemberItem.fromPartial({ memberId, role: memberId === id(0) ? 2 : 0 })),
      });
      expect(res.results.every((r) => r.result === 0)).toBe(true);
    }
    expect(await cluster.database.db.groupMember.count({ where: { appId: APP, groupId: GROUP } })).toBe(
      MEMBERS,
    );

    for (let i = 0; i < ONLINE; i++) {
      const kind = i % 4 < 2 ? "tcp" : "ws";
      const d = cluster.device(id(i), `${id(i)}-dev`, {
        clientType: kind === "ws" ? 1 : 3,
        endpoint: () => cluster.endpoint(i % 2, kind),
        // No resend while an ACK is merely slow (a busy machine): the wire count below is exact.
        client: { resend: { initialMs: 20_000 } },
      });
      online.push(d);
    }
    await Promise.all(online.map((d) => d.connect()));
    expect(cluster.gateways.map((g) => g.connectionCount())).toEqual([ONLINE / 2, ONLINE / 2]);
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("delivers each message exactly once to each online member, in sequence order", async () => {
    const framesBefore = await groupFramesOut();
    const started = Date.now();
    await Promise.all(
      online.slice(0, SENDERS).map(async (d) => {
        for (let i = 0; i < PER_SENDER; i++) {
          acks.push(
            await d.client.sendGroup({
              groupId: GROUP,
              messageBody: `${d.userId} #${i}`,
              messageId: `${d.userId}-${i}`,
            }),
          );
        }
      }),
    );
    const total = SENDERS * PER_SENDER;
    expect(acks.every((a) => a.ok)).toBe(true);
    const seqs = acks.map((a) => a.data?.messageSequence as number).sort((a, b) => a - b);
    // One domain process: the group's counter is opened once, so no sequence is skipped.
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // Every online member gets every message except its own sends (which reach only its other devices).
    const expected = (d: TestDevice) => total - (online.indexOf(d) < SENDERS ? PER_SENDER : 0);
    await eventually(() => online.every((d) => d.messages.length >= expected(d)), 30_000, "fan-out");
    const fanOutMs = Date.now() - started;
    await settled(online, 500);
    for (const d of online) {
      const got = d.chat().filter((m) => m.kind === "group");
      expect(got.length).toBe(expected(d));
      const keys = new Set(got.map((m) => m.message.messageKey));
      expect(keys.size).toBe(got.length);
      const order = got.map((m) => m.message.messageSequence);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // On the wire too: the gateways wrote exactly one 2104 per (message, online receiver).
    const wire = (await groupFramesOut()) - framesBefore;
    expect(wire).toBe(online.reduce((n, d) => n + expected(d), 0));
    console.info(
      `group fan-out: ${total} messages × ${ONLINE} online members in ${fanOutMs} ms (${wire} frames)`,
    );

    // One stored copy per message (read diffusion), not one per member.
    await eventually(
      async () =>
        (await cluster.database.db.messageBody.count({ where: { appId: APP, toId: GROUP } })) === total,
      15_000,
      "storage",
    );
    expect(
      await cluster.database.db.groupMessageHistory.count({ where: { appId: APP, groupId: GROUP } }),
    ).toBe(total);
  }, 60_000);

  it("catches offline members up when they connect (SDK sync), and has it all in every member's history", async () => {
    const keysInOrder = [...acks]
      .sort((a, b) => (a.data?.messageSequence as number) - (b.data?.messageSequence as number))
      .map((a) => a.data?.messageKey);
    // A batch of members who were offline throughout connect now, half on each gateway: their
    // SDKs fetch the group's messages (9007) and show each once, in order.
    const late = Array.from({ length: LATE }, (_, j) => {
      const i = ONLINE + j * Math.floor((MEMBERS - ONLINE) / LATE);
      return cluster.device(id(i), `${id(i)}-dev`, { endpoint: () => cluster.endpoint(j % 2, "tcp") });
    });
    const started = Date.now();
    await Promise.all(late.map((d) => d.connect()));
    await eventually(() => late.every((d) => d.messages.length >= keysInOrder.length), 20_000, "catch-up");
    const catchUpMs = Date.now() - started;
    await settled(late, 1_500);
    for (const d of late) {
      expect(d.chat().map((m) => m.message.messageKey)).toEqual(keysInOrder);
      expect(d.chat().every((m) => m.synced && m.kind === "group")).toBe(true);
    }
    console.info(
      `group fan-out: ${LATE} offline members caught up with ${keysInOrder.length} messages in ${catchUpMs} ms`,
    );

    // And every one of the 400 offline members can read them all from the store's history.
    const history = cluster.history(ADMIN); // an app admin may read any member's history
    for (let i = ONLINE; i < MEMBERS; i++) {
      const page = await history.syncGroupMessages({
        appId: APP,
        operater: ADMIN,
        userId: id(i),
        groupId: GROUP,
        maxLimit: 100,
      });
      expect(page.completed).toBe(true);
      expect(page.dataList.map((m) => m.messageKey)).toEqual(keysInOrder);
    }
  }, 60_000);
});
