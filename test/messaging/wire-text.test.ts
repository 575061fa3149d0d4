import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupMemberItem } from "../../gen/ts/whaleshark/v1/common.js";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { FriendshipServiceService, ImportFriendItem } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { UserData } from "../../gen/ts/whaleshark/v1/model.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import type { ClientError } from "../../sdk/client-error.js";
import { type RunningCli, startEmbedded } from "../support/cli.js";
import { grpcCaller } from "../support/grpc-caller.js";
import { ADMIN, APP_ID, APP_KEY } from "../support/harness/app.js";
import { eventually } from "../support/harness/eventually.js";
import { TestDevice } from "./support/device.js";

/**
 * Issue 13 over the wire, in the embedded profile (`whaleshark start`: PGlite, the bus journal):
 * a device's JSON send whose text the database cannot store (a NUL) or that is longer than its
 * column is refused in its ACK with 90001 naming the field, never ACKed; the largest accepted
 * message (5 000 characters of non-BMP text, 1 000 of extra, a 100-character messageId) is
 * ACKed, stored, and reaches a device that was offline through its catch-up sync with every
 * character intact.
 */

const APP = APP_ID;
const KEY = APP_KEY;

/** `n` characters as PostgreSQL counts them, non-BMP except a tagged tail. */
const chars = (n: number, tail: string) => `${"😀".repeat(n - tail.length)}${tail}`;

describe("whaleshark start: what a device's send ACKs is stored", () => {
  let cli: RunningCli;
  let tcpPort: number;
  const devices: TestDevice[] = [];
  const channels: Array<{ close(): void }> = [];

  const device = (userId: string, imei: string) => {
    const d = new TestDevice({
      appId: APP,
      privateKey: KEY,
      userId,
      imei,
      clientType: 3,
      endpoint: () => ({ kind: "tcp", port: tcpPort }),
    });
    devices.push(d);
    return d;
  };

  beforeAll(async () => {
    const started = await startEmbedded({ appId: APP, privateKey: KEY, adminIds: [ADMIN] });
    cli = started.cli;
    const domain = started.domain;
    tcpPort = started.tcpPort;
    const service = <D extends object>(definition: D, userId: string) => {
      const c = grpcCaller(domain, definition, { appId: APP, privateKey: KEY, userId });
      channels.push(c);
      return c.call;
    };
    await service(UserServiceService, ADMIN).importUsers({
      userData: ["alice", "bob"].map((userId) => UserData.fromPartial({ userId, userType: 1 })),
    });
    for (const [fromId, toId] of [
      ["alice", "bob"],
      ["bob", "alice"],
    ] as const) {
      await service(FriendshipServiceService, ADMIN).importFriendships({
        fromId,
        friendItem: [ImportFriendItem.fromPartial({ toId })],
      });
    }
    await service(GroupServiceService, "alice").createGroup({
      groupId: "lunch",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [GroupMemberItem.fromPartial({ memberId: "bob" })],
    });
  }, 90_000);

  afterAll(async () => {
    for (const d of devices) d.close();
    for (const c of channels) c.close();
    if (cli !== undefined && cli.child.exitCode === null) cli.child.kill("SIGKILL");
  });

  it("refuses NUL and over-long fields in the ACK (90001 naming them) and stores the largest accepted", async () => {
    const alice = device("alice", "alice-phone");
    await alice.connect();
    const refusal = (sent: Promise<unknown>) =>
      sent.then(
        () => "ACKed",
        (e: ClientError) => `${e.code} ${e.serverMessage}`,
      );
    const param = (detail: string) => `90001 参数校验错误: ${detail}`;
    const p2p = (over: object) => alice.client.sendP2P({ toId: "bob", messageBody: "hi", ...over });
    const group = (over: object) => alice.client.sendGroup({ groupId: "lunch", messageBody: "hi", ...over });

    expect(await refusal(p2p({ messageBody: "a\u0000b" }))).toBe(
      param("p2p.message_body contains a NUL character"),
    );
    expect(await refusal(p2p({ extra: "\u0000" }))).toBe(param("p2p.extra contains a NUL character"));
    expect(await refusal(p2p({ toId: "bob\u0000" }))).toBe(param("p2p.to_id contains a NUL character"));
    expect(await refusal(p2p({ messageId: "m\u0000" }))).toBe(
      param("p2p.message_id contains a NUL character"),
    );
    expect(await refusal(group({ groupId: "lunch\u0000" }))).toBe(
      param("group.group_id contains a NUL character"),
    );
    expect(await refusal(group({ messageBody: "\u0000" }))).toBe(
      param("group.message_body contains a NUL character"),
    );
    expect(await refusal(p2p({ messageBody: chars(5001, "x") }))).toBe(
      param("message_body is longer than 5000 characters"),
    );
    expect(await refusal(group({ extra: "e".repeat(1001) }))).toBe(
      param("extra is longer than 1000 characters"),
    );
    expect(await refusal(p2p({ toId: "b".repeat(51) }))).toBe(param("to_id is longer than 50 characters"));
    expect(await refusal(p2p({ messageId: "m".repeat(101) }))).toBe(
      param("message_id is longer than 100 characters"),
    );

    const limit = { messageBody: chars(5000, "end"), extra: chars(1000, "x") };
    const sent = [
      await p2p({ ...limit, messageId: chars(100, "p") }),
      await group({ ...limit, messageId: chars(100, "g") }),
    ];
    expect(sent.map((ack) => (ack as { ok: boolean }).ok)).toEqual([true, true]);

    // bob was never online: his first login catches up from the store (9007).
    const bob = device("bob", "bob-phone");
    await bob.connect();
    await eventually(() => bob.synced().length === 2);
    expect(
      bob.synced().map((m) => [m.kind, m.message.messageBody, m.message.extra, m.message.messageId]),
    ).toEqual([
      ["p2p", limit.messageBody, limit.extra, chars(100, "p")],
      ["group", limit.messageBody, limit.extra, chars(100, "g")],
    ]);
  });
});
