import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { MessageServiceService } from "../../gen/ts/whaleshark/v1/message_service.js";
import { eventually } from "../support/harness/eventually.js";
import { APP, type Cluster, startCluster } from "./support/cluster.js";
import type { TestDevice } from "./support/device.js";
import { settled } from "./support/settle.js";

/**
 * Recall (1050 → 1051 to the caller, 1052 to the conversation's other devices; 50004 outside the
 * window, 50005 twice) and read marks (1106 / 2106 → 1053 / 2053 to the reader's other devices,
 * 1054 / 2054 to the peer's or the named sender's devices) through SDK clients on two gateways,
 * with the domain and store on Redis, RabbitMQ and PostgreSQL. Every check names exactly which
 * devices got a frame and which did not.
 */

const WINDOW_MS = 1500;

describe("recall and read receipts reach exactly the right devices", () => {
  let cluster: Cluster;
  /** Devices by name: alice and bob have two each; carol is in the group only; dave in nothing. */
  const d: Record<string, TestDevice> = {};
  const names = () => Object.keys(d);

  /** The devices that received frames of `command` matching `match`. */
  const receivers = (command: number, match: (data: Record<string, unknown>) => boolean) =>
    names().filter((n) => {
      const dev = d[n] as TestDevice;
      const frames = [
        ...dev.notificationsOf(command),
        ...dev.receiptsOf(command).map((r) => r.data as unknown),
      ] as Array<Record<string, unknown>>;
      return frames.some(match);
    });
  /** How many frames of `command` matching `match` a device received. */
  const count = (n: string, command: number, match: (data: Record<string, unknown>) => boolean) => {
    const dev = d[n] as TestDevice;
    return [...dev.notificationsOf(command), ...dev.receiptsOf(command).map((r) => r.data as unknown)].filter(
      (x) => match(x as Record<string, unknown>),
    ).length;
  };
  const all = () => Object.values(d);
  const recallAck = (n: string, key: number) =>
    (d[n] as TestDevice)
      .notificationsOf(1051)
      .map((x) => x as { code: number; ok: boolean; data?: { messageKey?: number } })
      .filter((a) => a.data?.messageKey === key);
  const byKey = (key: number) => (x: Record<string, unknown>) => x.messageKey === key;

  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2, overrides: { messaging: { recallWindowMs: WINDOW_MS } } });
    await cluster.users(["alice", "bob", "carol", "dave"]);
    await cluster.friends(["alice", "bob", "carol", "dave"]);
    const at = (g: number, kind: "tcp" | "ws") => () => cluster.endpoint(g, kind);
    d.alicePhone = cluster.device("alice", "alice-phone", { endpoint: at(0, "tcp") });
    d.aliceWeb = cluster.device("alice", "alice-web", { clientType: 1, endpoint: at(1, "ws") });
    d.bobPhone = cluster.device("bob", "bob-phone", { endpoint: at(1, "tcp") });
    d.bobWeb = cluster.device("bob", "bob-web", { clientType: 1, endpoint: at(0, "ws") });
    d.carolPhone = cluster.device("carol", "carol-phone", { endpoint: at(0, "tcp") });
    d.davePhone = cluster.device("dave", "dave-phone", { endpoint: at(1, "ws") });
    for (const dev of all()) await dev.connect();
    const groups = cluster.domainService(GroupServiceService, "alice");
    await groups.createGroup({
      groupId: "team",
      groupName: "team",
      groupType: GroupType.GROUP_TYPE_PRIVATE,
      member: [{ memberId: "bob" }, { memberId: "carol" }].map((m) => ({
        alias: "",
        role: 0,
        speakDate: 0,
        joinType: "",
        joinTime: 0,
        extra: "",
        ...m,
      })),
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  /** Sends a P2P message from alice's phone and waits until every online device of both users has it. */
  const p2p = async (body: string) => {
    const ack = await (d.alicePhone as TestDevice).client.sendP2P({ toId: "bob", messageBody: body });
    const key = ack.data?.messageKey as number;
    await eventually(
      () =>
        ["aliceWeb", "bobPhone", "bobWeb"].every((n) =>
          (d[n] as TestDevice).chat().some((m) => m.message.messageKey === key),
        ),
      10_000,
      "P2P delivery",
    );
    return { key, sequence: ack.data?.messageSequence as number };
  };
  const recall = (n: string, key: number, sequence: number, conversationType = 0, toId = "bob") =>
    (d[n] as TestDevice).inject(1050, {
      fromId: (d[n] as TestDevice).userId,
      toId,
      conversationType,
      messageKey: key,
      messageSequence: sequence,
      messageTime: Date.now(),
    });

  it("recalls within the window: 1051 to the caller, 1052 to every other device of both users", async () => {
    const { key, sequence } = await p2p("oops");
    expect(recall("alicePhone", key, sequence)).toBe(true);
    await eventually(() => recallAck("alicePhone", key).length === 1, 10_000, "1051");
    expect(recallAck("alicePhone", key)[0]).toMatchObject({ code: 200, ok: true });
    await eventually(() => receivers(1052, byKey(key)).length >= 3, 10_000, "1052");
    await settled(all());
    expect(receivers(1052, byKey(key)).sort()).toEqual(["aliceWeb", "bobPhone", "bobWeb"]);
    for (const n of names()) expect(count(n, 1052, byKey(key))).toBeLessThanOrEqual(1);
    expect(names().filter((n) => recallAck(n, key).length > 0)).toEqual(["alicePhone"]);
    expect((d.bobPhone as TestDevice).notificationsOf(1052)).toContainEqual(
      expect.objectContaining({ fromId: "alice", toId: "bob", messageKey: key, messageSequence: sequence }),
    );

    const row = await cluster.database.db.messageBody.findUniqueOrThrow({
      where: { messageKey: BigInt(key) },
    });
    expect(row).toMatchObject({ recalled: true, messageBody: "" });
    const history = await cluster
      .history("bob")
      .syncP2PMessages({ appId: APP, operater: "bob", toId: "alice" });
    expect(history.dataList.find((m) => m.messageKey === key)).toMatchObject({
      recalled: true,
      messageBody: "",
    });

    // A second recall: 50005 to the caller, nobody notified again.
    expect(recall("alicePhone", key, sequence)).toBe(true);
    await eventually(() => recallAck("alicePhone", key).length === 2, 10_000, "second 1051");
    expect(recallAck("alicePhone", key)[1]).toMatchObject({ code: 50005, ok: false });
    await settled(all());
    expect(receivers(1052, byKey(key)).sort()).toEqual(["aliceWeb", "bobPhone", "bobWeb"]);
    for (const n of names()) expect(count(n, 1052, byKey(key))).toBeLessThanOrEqual(1);
  }, 30_000);

  it("refuses a late recall with 50004 and a recall by the receiver with 40014, notifying nobody", async () => {
    const { key, sequence } = await p2p("too late to take back");
    // The ACK came once the job was durable; the store writes the row in its next batch.
    const stored = () => cluster.database.db.messageBody.findUnique({ where: { messageKey: BigInt(key) } });
    await eventually(async () => (await stored()) !== null, 10_000, "the message stored");
    const row = await cluster.database.db.messageBody.findUniqueOrThrow({
      where: { messageKey: BigInt(key) },
    });
    await new Promise((r) =>
      setTimeout(r, Math.max(0, Number(row.createTime) + WINDOW_MS + 200 - Date.now())),
    );
    expect(recall("alicePhone", key, sequence)).toBe(true);
    await eventually(() => recallAck("alicePhone", key).length === 1, 10_000, "1051");
    expect(recallAck("alicePhone", key)[0]).toMatchObject({ code: 50004, ok: false });

    expect(recall("bobPhone", key, sequence, 0, "alice")).toBe(true);
    expect((d.bobPhone as TestDevice).inject(1050, { conversationType: 0, messageKey: key })).toBe(true);
    await eventually(() => recallAck("bobPhone", key).length === 2, 10_000, "bob's 1051");
    // Naming alice as the peer does not match the stored row (50006); naming nothing is 40014.
    // The two recalls run side by side (not a send: no frame order between them), so either answer may come first.
    expect(
      recallAck("bobPhone", key)
        .map((a) => a.code)
        .sort(),
    ).toEqual([40014, 50006]);
    await settled(all());
    expect(receivers(1052, byKey(key))).toEqual([]);
    expect(
      (await cluster.database.db.messageBody.findUniqueOrThrow({ where: { messageKey: BigInt(key) } }))
        .recalled,
    ).toBe(false);

    // An app admin may recall at any time (MessageService.RecallMessage): every device of both users.
    await cluster.domainService(MessageServiceService).recallMessage({
      appId: APP,
      fromId: "alice",
      toId: "bob",
      conversationType: 0,
      messageKey: key,
    });
    await eventually(() => receivers(1052, byKey(key)).length >= 4, 10_000, "admin 1052");
    await settled(all());
    expect(receivers(1052, byKey(key)).sort()).toEqual(["alicePhone", "aliceWeb", "bobPhone", "bobWeb"]);
  }, 30_000);

  it("recalls a group message: 1052 to every member device but the caller's", async () => {
    const ack = await (d.alicePhone as TestDevice).client.sendGroup({
      groupId: "team",
      messageBody: "hi team",
    });
    const key = ack.data?.messageKey as number;
    const members = ["aliceWeb", "bobPhone", "bobWeb", "carolPhone"];
    await eventually(
      () => members.every((n) => (d[n] as TestDevice).chat().some((m) => m.message.messageKey === key)),
      10_000,
      "group delivery",
    );
    expect((d.davePhone as TestDevice).chat().some((m) => m.message.messageKey === key)).toBe(false);
    expect(recall("alicePhone", key, ack.data?.messageSequence as number, 1, "team")).toBe(true);
    await eventually(() => recallAck("alicePhone", key).length === 1, 10_000, "1051");
    expect(recallAck("alicePhone", key)[0]).toMatchObject({ code: 200, ok: true });
    await eventually(() => receivers(1052, byKey(key)).length >= members.length, 10_000, "1052");
    await settled(all());
    expect(receivers(1052, byKey(key)).sort()).toEqual(members);
    for (const n of names()) expect(count(n, 1052, byKey(key))).toBeLessThanOrEqual(1);
  }, 30_000);

  it("P2P read: 1053 to the reader's other devices, 1054 to the peer's devices, never backwards", async () => {
    await p2p("first");
    const { sequence } = await p2p("second");
    const bySeq = (x: Record<string, unknown>) => x.messageSequence === sequence && x.fromId === "bob";
    expect((d.bobPhone as TestDevice).client.markRead({ toId: "alice", messageSequence: sequence })).toBe(
      true,
    );
    await eventually(
      () => receivers(1053, bySeq).length >= 1 && receivers(1054, bySeq).length >= 2,
      10_000,
      "read notices",
    );
    await settled(all());
    expect(receivers(1053, bySeq)).toEqual(["bobWeb"]);
    expect(receivers(1054, bySeq).sort()).toEqual(["alicePhone", "aliceWeb"]);
    for (const n of names()) {
      expect(count(n, 1053, bySeq) + count(n, 1054, bySeq)).toBeLessThanOrEqual(1);
    }
    expect((d.bobWeb as TestDevice).receiptsOf(1053).at(-1)?.data).toMatchObject({
      fromId: "bob",
      toId: "alice",
      messageSequence: sequence,
    });

    // A mark below the cursor moves nothing and tells nobody (D14).
    const before = all().map((dev) => dev.receipts.length);
    expect((d.bobWeb as TestDevice).client.markRead({ toId: "alice", messageSequence: sequence - 1 })).toBe(
      true,
    );
    await settled(all(), 500);
    expect(all().map((dev) => dev.receipts.length)).toEqual(before);
    const cursor = await cluster.database.db.conversationSet.findFirstOrThrow({
      where: { appId: APP, fromId: "bob", toId: "alice" },
    });
    expect(Number(cursor.readSequence)).toBe(sequence);
  }, 30_000);

  it("group read: 2053 to the reader's other devices, 2054 to the named sender's devices", async () => {
    const ack = await (d.alicePhone as TestDevice).client.sendGroup({
      groupId: "team",
      messageBody: "read me",
    });
    const sequence = ack.data?.messageSequence as number;
    await eventually(
      () => (d.bobWeb as TestDevice).chat().some((m) => m.message.messageKey === ack.data?.messageKey),
      10_000,
      "group delivery",
    );
    const bySeq = (x: Record<string, unknown>) =>
      x.messageSequence === sequence && x.fromId === "bob" && x.groupId === "team";
    expect(
      (d.bobWeb as TestDevice).client.markGroupRead({
        groupId: "team",
        messageSequence: sequence,
        toId: "alice",
      }),
    ).toBe(true);
    await eventually(
      () => receivers(2053, bySeq).length >= 1 && receivers(2054, bySeq).length >= 2,
      10_000,
      "group read notices",
    );
    await settled(all());
    expect(receivers(2053, bySeq)).toEqual(["bobPhone"]);
    expect(receivers(2054, bySeq).sort()).toEqual(["alicePhone", "aliceWeb"]);
    for (const n of names()) {
      expect(count(n, 2053, bySeq) + count(n, 2054, bySeq)).toBeLessThanOrEqual(1);
    }
    // carol read too, naming nobody: only her other devices (none) hear of it.
    const before = all().map((dev) => dev.receipts.length);
    expect(
      (d.carolPhone as TestDevice).client.markGroupRead({ groupId: "team", messageSequence: sequence }),
    ).toBe(true);
    await settled(all(), 500);
    expect(all().map((dev) => dev.receipts.length)).toEqual(before);
  }, 30_000);
});
