import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { PresenceServiceService } from "../../gen/ts/whaleshark/v1/presence_service.js";
import type { UserStatusChangeNotifyPack } from "../../gen/ts/whaleshark/v1/user_pack.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import type { Config, DeepPartial } from "../../lib/config/index.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import { type ChatDeployment, distributedChat, embeddedChat } from "../messaging/support/chat-deployments.js";
import type { TestDevice } from "../messaging/support/device.js";
import { ADMIN, eventually } from "../support/harness/index.js";

/**
 * Online status end to end on both profiles (`whaleshark start` as a child process; the
 * distributed roles on Redis, RabbitMQ and PostgreSQL): alice and bob are friends (the
 * deployments' seed), cathy subscribes to alice (not "carol": the embedded demo seed makes a carol
 * alice's friend), dave shares a group with alice and is neither,
 * erin subscribes for one second. The gateway-kill case is test/presence/gateway-kill.test.ts.
 */

const CONFIG: DeepPartial<Config> = {
  gateway: { loginMode: 4 }, // all of a user's devices stay logged in
  presence: { maxSubscriptions: 2 },
};

const PROFILES: ReadonlyArray<{ name: string; admin: string; start: () => Promise<ChatDeployment> }> = [
  { name: "embedded", admin: ADMIN, start: () => embeddedChat(CONFIG) },
  { name: "distributed", admin: ADMIN, start: () => distributedChat(CONFIG) },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Awaits a refusal and returns its business code. */
async function codeOf(call: Promise<unknown>): Promise<number | undefined> {
  const error = await call.then(
    () => undefined,
    (e: ServiceError) => e,
  );
  return error === undefined ? undefined : errorCodeOf(error);
}

/** The presence pushes of one command a device got. */
const seen = (d: TestDevice, command: 4004 | 4005) =>
  d.notificationsOf(command) as UserStatusChangeNotifyPack[];
const about = (d: TestDevice, command: 4004 | 4005, userId: string, imei: string) =>
  seen(d, command).filter((p) => p.userId === userId && p.imei === imei);

describe.each(PROFILES)("presence ($name profile)", ({ admin, start }) => {
  let chat: ChatDeployment;
  let bob: TestDevice;
  let cathy: TestDevice;
  let dave: TestDevice;
  let phone: TestDevice;
  let laptop: TestDevice;
  const presence = (userId: string) => chat.service(PresenceServiceService, userId);

  beforeAll(async () => {
    chat = await start();
    await chat.service(UserServiceService, admin).importUsers({
      userData: ["cathy", "dave", "erin"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    await chat.service(GroupServiceService, "alice").createGroup({
      groupId: "team",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [GroupMemberItem.fromPartial({ memberId: "dave" })],
    });
    await presence("cathy").subscribe({ userIds: ["alice"], ttlSeconds: 600 });
    bob = chat.device("bob", "bob-phone");
    cathy = chat.device("cathy", "cathy-phone");
    dave = chat.device("dave", "dave-phone");
    await Promise.all([bob.connect(), cathy.connect(), dave.connect()]);
  }, 120_000);

  afterAll(async () => {
    await chat?.close();
  }, 30_000);

  it("pushes a login as 4004 to the friend and the subscriber, 4005 to own devices, nothing to a group member", async () => {
    phone = chat.device("alice", "phone");
    await phone.connect();
    await eventually(
      () => [bob, cathy].every((d) => about(d, 4004, "alice", "phone").some((p) => p.status === 1)),
      10_000,
      "bob and cathy see the phone online",
    );
    expect(about(bob, 4004, "alice", "phone")).toEqual([
      { appId: 10001, clientType: 3, customStatus: "", imei: "phone", status: 1, userId: "alice" },
    ]);
    laptop = chat.device("alice", "laptop");
    await laptop.connect();
    await eventually(
      () => about(phone, 4005, "alice", "laptop").some((p) => p.status === 1),
      10_000,
      "the phone sees the laptop online (4005)",
    );
    await eventually(() => about(bob, 4004, "alice", "laptop").length > 0, 10_000, "bob sees the laptop");
    expect(about(laptop, 4005, "alice", "laptop")).toEqual([]); // not told about itself
    await sleep(1500); // a push to dave would have come by now
    expect(seen(dave, 4004)).toEqual([]);
  }, 30_000);

  it("answers the query with each device", async () => {
    const { users } = await presence("dave").queryPresence({ userIds: ["alice", "erin"] });
    expect(users).toEqual([
      {
        userId: "alice",
        status: 1,
        customStatus: "",
        devices: [
          expect.objectContaining({ clientType: 3, imei: "laptop", status: 1 }),
          expect.objectContaining({ clientType: 3, imei: "phone", status: 1 }),
        ],
      },
      { userId: "erin", status: 2, customStatus: "", devices: [] },
    ]);
  });

  it("sets a custom status over the wire (4001) and over gRPC", async () => {
    expect(phone.client.setCustomStatus("at lunch")).toBe(true);
    await eventually(
      () => seen(bob, 4004).some((p) => p.customStatus === "at lunch" && p.imei === "phone"),
      10_000,
      "bob sees the custom status",
    );
    await eventually(
      () => seen(laptop, 4005).some((p) => p.customStatus === "at lunch"),
      10_000,
      "the laptop sees it (4005)",
    );
    expect(seen(phone, 4005).some((p) => p.customStatus === "at lunch")).toBe(false); // the setter
    // A bad text is refused with 9006 naming 4001.
    const refusals: Array<{ code: number; data: unknown }> = [];
    phone.client.on("serverError", (e) => refusals.push({ code: e.code, data: e.data }));
    expect(phone.inject(4001, { customStatus: "x".repeat(101) })).toBe(true);
    await eventually(() => refusals.length > 0, 10_000, "the long text refused");
    expect(refusals[0]).toMatchObject({ code: 90001, data: { command: 4001 } });
    await presence("alice").setCustomStatus({ customStatus: "back" });
    await eventually(
      () => seen(cathy, 4004).some((p) => p.customStatus === "back"),
      10_000,
      "cathy sees the gRPC one",
    );
    const { users } = await presence("bob").queryPresence({ userIds: ["alice"] });
    expect(users[0]?.customStatus).toBe("back");
    expect(await codeOf(presence("bob").setCustomStatus({ userId: "alice", customStatus: "hijack" }))).toBe(
      60005,
    );
  }, 30_000);

  it("coalesces a flapping device into its last state", async () => {
    const before4004 = about(bob, 4004, "alice", "tablet").length;
    const first = chat.device("alice", "tablet");
    await first.connect();
    first.close();
    const second = chat.device("alice", "tablet");
    await second.connect();
    await eventually(
      () => about(bob, 4004, "alice", "tablet").length > before4004,
      10_000,
      "bob sees the tablet",
    );
    await sleep(2500);
    expect(about(bob, 4004, "alice", "tablet").map((p) => p.status)).toEqual([1]);
    second.close();
    await eventually(
      () => [bob, cathy].every((d) => about(d, 4004, "alice", "tablet").length === 2),
      10_000,
      "bob and cathy see the tablet go",
    );
    expect(about(bob, 4004, "alice", "tablet")[1]?.status).toBe(2);
  }, 30_000);

  it("ends a subscription at its TTL, and refuses past the subscription limit with 20004", async () => {
    const erin = chat.device("erin", "erin-phone");
    await erin.connect();
    const sub = await presence("erin").subscribe({ userIds: ["bob"], ttlSeconds: 1 });
    expect(sub.users).toEqual([expect.objectContaining({ userId: "bob", status: 1 })]);
    await sleep(1500);
    const bobLaptop = chat.device("bob", "bob-laptop");
    await bobLaptop.connect();
    await eventually(
      () => about(phone, 4004, "bob", "bob-laptop").length > 0,
      10_000,
      "alice (a friend) sees bob's laptop",
    );
    await sleep(500);
    expect(about(erin, 4004, "bob", "bob-laptop")).toEqual([]);

    await presence("erin").subscribe({ userIds: ["alice", "bob"], ttlSeconds: 60 });
    expect(await codeOf(presence("erin").subscribe({ userIds: ["dave"], ttlSeconds: 60 }))).toBe(20004);
    expect(await codeOf(presence("erin").subscribe({ userIds: ["dave"], ttlSeconds: 10 ** 9 }))).toBe(90001);
    await presence("erin").unsubscribe({ userIds: ["alice"] });
    await presence("erin").subscribe({ userIds: ["dave"], ttlSeconds: 60 }); // a slot is free again
  }, 30_000);

  it("pushes a device whose connection closed without a logout (a closed tab) offline to the friend", async () => {
    const tablet = chat.device("alice", "tablet");
    await tablet.connect();
    await eventually(
      () => about(bob, 4004, "alice", "tablet").some((p) => p.status === 1),
      10_000,
      "bob sees the tablet online",
    );
    tablet.close();
    await eventually(
      () => about(bob, 4004, "alice", "tablet").some((p) => p.status === 2),
      10_000,
      "bob sees the tablet offline",
    );
  }, 30_000);

  it("pushes a logout offline to the friend, and nothing more to an unsubscribed user", async () => {
    await presence("cathy").unsubscribe({ userIds: ["alice"] });
    const cathyBefore = seen(cathy, 4004).length;
    const late = () => seen(cathy, 4004).slice(cathyBefore);
    await laptop.client.logout();
    await eventually(
      () => about(bob, 4004, "alice", "laptop").some((p) => p.status === 2),
      10_000,
      "bob sees the laptop offline",
    );
    await eventually(
      () => about(phone, 4005, "alice", "laptop").some((p) => p.status === 2),
      10_000,
      "the phone sees it (4005)",
    );
    await sleep(500);
    expect(late()).toEqual([]);
    expect(seen(dave, 4004)).toEqual([]);
  }, 30_000);
});
