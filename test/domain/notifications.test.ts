import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayHandle } from "../../gateway/start.js";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import { MemoryBus } from "../../lib/adapters/memory/bus.js";
import { MemoryKvStore } from "../../lib/adapters/memory/kv-store.js";
import { WhaleSharkClient } from "../../sdk/index.js";
import { tcpTransport } from "../../sdk/transport/tcp.js";
import { startTestGateway, userSign } from "../gateway/support/harness.js";
import { type DomainHarness, startDomainHarness } from "./harness.js";

/**
 * Notifications end to end (spec §3.4–§3.6): SDK clients log in through a
 * real gateway, app-server calls go to the domain over gRPC, and each device
 * sees exactly the pushes the spec prescribes, once, with the calling device
 * skipped (D12, D30 fixed).
 */

const kv = new MemoryKvStore();
const bus = new MemoryBus();
let gateway: GatewayHandle;
let h: DomainHarness;
const clients: WhaleSharkClient[] = [];
/** device name → commands it was notified of, in order. */
const seen = new Map<string, number[]>();

async function device(userId: string, clientType: number, imei: string): Promise<string> {
  const client = new WhaleSharkClient({
    transport: tcpTransport({ host: "127.0.0.1", port: gateway.tcpPort }),
    appId: 10001,
    userId,
    clientType,
    imei,
    userSign: () => userSign(userId),
    reconnect: false,
  });
  const name = `${userId}/${imei}`;
  seen.set(name, []);
  client.on("notification", (n) => seen.get(name)?.push(n.command));
  await client.connect();
  clients.push(client);
  return name;
}

/** Waits until the pushes stop arriving, then returns and clears them. */
async function settle(): Promise<Record<string, number[]>> {
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const count = [...seen.values()].reduce((n, list) => n + list.length, 0);
    if (count === last) break;
    last = count;
  }
  const out = Object.fromEntries([...seen].map(([name, list]) => [name, [...list]]));
  for (const list of seen.values()) list.length = 0;
  return out;
}

beforeAll(async () => {
  gateway = await startTestGateway({ nodeId: "gw-notify", infra: { kv, bus } });
  h = await startDomainHarness({}, { kv, bus });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await h?.close();
  await gateway?.stop();
  await bus.close();
  await kv.close();
});

describe("notifications through a gateway", () => {
  it("reach exactly the prescribed devices once, skipping the calling one", async () => {
    const [alice, bob, carol] = [h.id("alice"), h.id("bob"), h.id("carol")];
    await h.users([alice, bob, carol]);
    const aliceWeb = await device(alice, 1, "web");
    const alicePhone = await device(alice, 3, "phone");
    const bobWeb = await device(bob, 1, "web");
    const carolWeb = await device(carol, 1, "web");
    const fromAliceWeb = { clientType: 1, imei: "web" };

    // 3000 FRIEND_ADD: alice's other device and every device of bob.
    await h.as(FriendshipServiceService, alice).addFriend({ ...fromAliceWeb, toItem: { toId: bob } });
    expect(await settle()).toEqual({
      [aliceWeb]: [],
      [alicePhone]: [3000],
      [bobWeb]: [3000],
      [carolWeb]: [],
    });

    // 4000 USER_MODIFY: only alice's other devices.
    await h.as(UserServiceService, alice).modifyUserInfo({ ...fromAliceWeb, userId: alice, nickName: "A" });
    expect(await settle()).toEqual({ [aliceWeb]: [], [alicePhone]: [4000], [bobWeb]: [], [carolWeb]: [] });

    // 2002 CREATED_GROUP: every member, the caller's device skipped (D30).
    const { groupId } = await h.as(GroupServiceService, alice).createGroup({
      ...fromAliceWeb,
      member: [
        GroupMemberItem.fromPartial({ memberId: bob }),
        GroupMemberItem.fromPartial({ memberId: carol }),
      ],
    });
    expect(await settle()).toEqual({
      [aliceWeb]: [],
      [alicePhone]: [2002],
      [bobWeb]: [2002],
      [carolWeb]: [2002],
    });

    // 2006 DELETED_MEMBER: every remaining member and the removed one, once each (D12).
    await h
      .as(GroupMemberServiceService, alice)
      .removeGroupMember({ ...fromAliceWeb, groupId, memberId: carol });
    expect(await settle()).toEqual({
      [aliceWeb]: [],
      [alicePhone]: [2006],
      [bobWeb]: [2006],
      [carolWeb]: [2006],
    });

    // 2005 UPDATED_MEMBER: the owner, managers and the member (D12); carol left, sees nothing.
    await h
      .as(GroupMemberServiceService, bob)
      .updateGroupMember({ groupId, memberId: bob, alias: "b", clientType: 1, imei: "web" });
    expect(await settle()).toEqual({
      [aliceWeb]: [2005],
      [alicePhone]: [2005],
      [bobWeb]: [],
      [carolWeb]: [],
    });
  });
});
