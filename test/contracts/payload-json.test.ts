import { describe, expect, it } from "vitest";
import * as conversation from "../../gen/ts/whaleshark/v1/conversation_pack.js";
import type { MessageFns } from "../../gen/ts/whaleshark/v1/envelope.js";
import * as envelope from "../../gen/ts/whaleshark/v1/envelope.js";
import * as friendship from "../../gen/ts/whaleshark/v1/friendship_pack.js";
import * as group from "../../gen/ts/whaleshark/v1/group_pack.js";
import * as message from "../../gen/ts/whaleshark/v1/message.js";
import * as user from "../../gen/ts/whaleshark/v1/user_pack.js";

/** A JSON object as the original wrote it on the wire. */
type Json = Record<string, unknown>;

/** One payload message, type-erased so every case runs through one table. */
interface PayloadCase {
  readonly name: string;
  /** The JSON with every field set, keys in fastjson's alphabetical order (spec §2.5). */
  readonly json: Json;
  /** Keys the original's class did not have (WhaleShark extensions). */
  readonly extensions: readonly string[];
  fromJSON(object: unknown): Json;
  toJSON(value: Json): unknown;
  binaryRoundTrip(value: Json): Json;
  defaults(): Json;
}

/** Wraps generated message functions; the casts only erase T for the table. */
function payload<T>(name: string, fns: MessageFns<T>, json: Json, extensions: string[] = []): PayloadCase {
  return {
    name,
    json,
    extensions,
    fromJSON: (object) => fns.fromJSON(object) as Json,
    toJSON: (value) => fns.toJSON(value as T),
    binaryRoundTrip: (value) => fns.decode(fns.encode(value as T).finish()) as Json,
    defaults: () => fns.create() as Json,
  };
}

// Non-default sample values of the original's JSON (spec §2–§5, §3.3–§3.6).
const CASES: readonly PayloadCase[] = [
  // envelope.proto
  payload("MessagePack", envelope.MessagePack, {
    appId: 10001,
    clientType: 1,
    command: 1103,
    data: { fromId: "10001", messageId: "m1" },
    imei: "web",
    messageId: "m0",
    toId: "10002",
    userId: "10001",
  }),
  payload("ResponseVo", envelope.ResponseVo, {
    code: 200,
    data: { ip: "10.0.0.1", port: 19001 },
    msg: "success",
    ok: true,
  }),
  payload("LoginPack", envelope.LoginPack, { userId: "10001", userSign: "eJyrVgrxCdZL" }, ["userSign"]),
  payload(
    "LoginAckPack",
    envelope.LoginAckPack,
    {
      appId: 10001,
      clientType: 1,
      heartbeatIntervalMs: 30_000,
      imei: "web",
      serverTime: 1_700_000_000_123,
      userId: "10001",
    },
    ["appId", "clientType", "heartbeatIntervalMs", "imei", "serverTime", "userId"],
  ),
  payload("PingPack", envelope.PingPack, { timestamp: 1_700_000_000_123, type: "ping" }),
  payload("MutaLoginPack", envelope.MutaLoginPack, {
    clientType: 3,
    command: 9002,
    toId: "u1",
    userId: "u1",
  }),
  // message.proto
  payload("MessageContent", message.MessageContent, {
    appId: 10001,
    clientType: 1,
    extra: "{}",
    fromId: "10001",
    imei: "web",
    messageBody: "hello",
    messageId: "m1",
    messageKey: 427_349_283_291_136,
    messageSequence: 7,
    messageTime: 1_700_000_000_123,
    toId: "10002",
  }),
  payload("GroupChatMessageContent", message.GroupChatMessageContent, {
    appId: 10001,
    clientType: 2,
    extra: "{}",
    fromId: "10001",
    groupId: "27a35ff2f9be4cc9a8d3db1ad3322804",
    imei: "ios-1",
    memberIds: ["10001", "10002"],
    messageBody: "hi all",
    messageId: "m2",
    messageKey: 427_349_283_291_137,
    messageSequence: 3,
    messageTime: 1_700_000_000_456,
    toId: "unused",
  }),
  payload(
    "MessageAckData",
    message.MessageAckData,
    { messageId: "m1", messageKey: 427_349_283_291_136, messageSequence: 1, retryAfterMs: 250 },
    ["messageKey", "retryAfterMs"],
  ),
  payload("MessageAck", message.MessageAck, {
    code: 200,
    data: { messageId: "m1", messageKey: 427_349_283_291_136, messageSequence: 1 },
    msg: "success",
    ok: true,
  }),
  payload("MessageReceiveAckContent", message.MessageReceiveAckContent, {
    appId: 10001,
    clientType: 3,
    fromId: "10002",
    imei: "android-1",
    messageKey: 427_349_283_291_136,
    messageSequence: 7,
    serverSend: true,
    toId: "10001",
  }),
  payload("MessageReadContent", message.MessageReadContent, {
    appId: 10001,
    clientType: 1,
    conversationType: 1,
    fromId: "10002",
    groupId: "g1",
    imei: "web",
    messageSequence: 9,
    toId: "10001",
  }),
  payload("MessageReadPack", message.MessageReadPack, {
    conversationType: 1,
    fromId: "10002",
    groupId: "g1",
    messageSequence: 9,
    toId: "10001",
  }),
  payload("RecallMessageContent", message.RecallMessageContent, {
    appId: 10001,
    clientType: 1,
    conversationType: 1,
    fromId: "10001",
    imei: "web",
    messageKey: 427_349_283_291_136,
    messageSequence: 7,
    messageTime: 1_700_000_000_123,
    toId: "g1",
  }),
  payload("RecallMessageAckData", message.RecallMessageAckData, { messageKey: 427_349_283_291_136 }),
  payload("RecallMessageAck", message.RecallMessageAck, {
    code: 200,
    data: { messageKey: 5 },
    msg: "success",
    ok: true,
  }),
  payload("RecallMessageNotifyPack", message.RecallMessageNotifyPack, {
    conversationType: 1,
    fromId: "10001",
    messageKey: 5,
    messageSequence: 7,
    toId: "g1",
  }),
  payload("OfflineMessageContent", message.OfflineMessageContent, {
    appId: 10001,
    conversationId: "0_10001_10002",
    conversationType: 2,
    delFlag: 1,
    extra: "{}",
    fromId: "10001",
    messageBody: "hello",
    messageKey: 427_349_283_291_136,
    messageRandom: 42,
    messageSequence: 7,
    messageTime: 1_700_000_000_123,
    toId: "10002",
  }),
  payload("MessageBody", message.MessageBody, {
    appId: 10001,
    createTime: 1_700_000_000_999,
    delFlag: 1,
    extra: "{}",
    messageBody: "hello",
    messageKey: 427_349_283_291_136,
    messageTime: 1_700_000_000_123,
    securityKey: "k",
  }),
  // group_pack.proto
  // The original defined the command only; remark and status are WhaleShark's (issue 16).
  payload(
    "JoinGroupPack",
    group.JoinGroupPack,
    { groupId: "g1", memberId: "10003", remark: "hi", status: 2 },
    ["groupId", "memberId", "remark", "status"],
  ),
  payload("AddGroupMemberPack", group.AddGroupMemberPack, { groupId: "g1", members: ["10003", "10004"] }),
  payload("CreateGroupPack", group.CreateGroupPack, {
    appId: 10001,
    applyJoinType: 2,
    createTime: 1_700_000_000_123,
    extra: "{}",
    groupId: "g1",
    groupName: "半糖的IM小屋",
    groupType: 2,
    introduction: "intro",
    mute: 1,
    notification: "notice",
    ownerId: "bantanger",
    photo: "p.png",
    privateChat: 1,
    sequence: 11,
    status: 1,
  }),
  payload(
    "UpdateGroupInfoPack",
    group.UpdateGroupInfoPack,
    {
      groupId: "g1",
      groupName: "new",
      introduction: "intro",
      joinType: 1,
      maxMemberCount: 500,
      mute: 1,
      notification: "notice",
      photo: "p.png",
      privateChat: 1,
      sequence: 12,
    },
    ["privateChat"],
  ),
  payload("ExitGroupPack", group.ExitGroupPack, { groupId: "g1", userId: "10002" }, ["groupId", "userId"]),
  payload(
    "UpdateGroupMemberPack",
    group.UpdateGroupMemberPack,
    { alias: "boss", extra: "{}", groupId: "g1", memberId: "10002", role: 1 },
    ["role"],
  ),
  payload("RemoveGroupMemberPack", group.RemoveGroupMemberPack, { groupId: "g1", member: "10002" }),
  payload("DestroyGroupPack", group.DestroyGroupPack, { groupId: "g1", sequence: 13 }),
  payload("TransferGroupPack", group.TransferGroupPack, { groupId: "g1", ownerId: "10001" }),
  payload("MuteGroupPack", group.MuteGroupPack, { groupId: "g1", mute: 1 }, ["mute"]),
  payload("GroupMemberSpeakPack", group.GroupMemberSpeakPack, {
    groupId: "g1",
    memberId: "10002",
    speakDate: 60_000,
  }),
  // friendship_pack.proto
  payload("AddFriendPack", friendship.AddFriendPack, {
    addSource: "search",
    addWording: "hi",
    fromId: "10001",
    remark: "bob",
    sequence: 5,
    toId: "10002",
  }),
  payload("UpdateFriendPack", friendship.UpdateFriendPack, {
    fromId: "10001",
    remark: "bobby",
    sequence: 6,
    toId: "10002",
  }),
  payload("DeleteFriendPack", friendship.DeleteFriendPack, { fromId: "10001", sequence: 7, toId: "10002" }),
  payload("FriendRequestPack", friendship.FriendRequestPack, {
    addSource: "search",
    addWording: "hi",
    appId: 10001,
    approveStatus: 1,
    createTime: 1_700_000_000_123,
    fromId: "10003",
    id: 1,
    readStatus: 1,
    remark: "carol",
    sequence: 8,
    toId: "bantanger",
    updateTime: 1_700_000_000_999,
  }),
  payload("ReadAllFriendRequestPack", friendship.ReadAllFriendRequestPack, {
    fromId: "bantanger",
    sequence: 9,
  }),
  payload("ApproveFriendRequestPack", friendship.ApproveFriendRequestPack, {
    id: 1,
    sequence: 10,
    status: 2,
  }),
  payload("AddFriendBlackPack", friendship.AddFriendBlackPack, {
    fromId: "10001",
    sequence: 11,
    toId: "10002",
  }),
  payload("DeleteBlackPack", friendship.DeleteBlackPack, { fromId: "10001", sequence: 12, toId: "10002" }),
  payload("AddFriendGroupPack", friendship.AddFriendGroupPack, {
    fromId: "10001",
    groupName: "work",
    sequence: 13,
  }),
  payload("DeleteFriendGroupPack", friendship.DeleteFriendGroupPack, {
    fromId: "10001",
    groupName: "work",
    sequence: 14,
  }),
  payload("AddFriendGroupMemberPack", friendship.AddFriendGroupMemberPack, {
    fromId: "10001",
    groupName: "work",
    sequence: 15,
    toIds: ["10002"],
  }),
  payload("DeleteFriendGroupMemberPack", friendship.DeleteFriendGroupMemberPack, {
    fromId: "10001",
    groupName: "work",
    sequence: 16,
    toIds: ["10002"],
  }),
  payload("DeleteAllFriendPack", friendship.DeleteAllFriendPack, { fromId: "10001", sequence: 17 }, [
    "sequence",
  ]),
  // user_pack.proto
  payload("UserModifyPack", user.UserModifyPack, {
    friendAllowType: 2,
    nickName: "Bob",
    photo: "p.png",
    selfSignature: "hey",
    userId: "10001",
    userSex: "1",
  }),
  payload("UserStatusChangeNotifyPack", user.UserStatusChangeNotifyPack, {
    appId: 10001,
    clientType: 4,
    customStatus: "away", // WhaleShark's addition (presence)
    imei: "win-1",
    status: 2,
    userId: "10001",
  }),
  // conversation_pack.proto
  payload("DeleteConversationPack", conversation.DeleteConversationPack, { conversationId: "0_10001_10002" }),
  payload("UpdateConversationPack", conversation.UpdateConversationPack, {
    conversationId: "1_10001_g1",
    conversationType: 1,
    isMute: 1,
    isTop: 1,
    sequence: 18,
  }),
];

describe("payload messages keep the original JSON (spec §2.5)", () => {
  it("covers every payload message of the contracts", () => {
    const generated = [conversation, envelope, friendship, group, message, user].flatMap((module) =>
      Object.entries(module)
        .filter(([, value]) => typeof value === "object" && value !== null && "toJSON" in value)
        .map(([name]) => name),
    );
    expect(CASES.map((c) => c.name).sort()).toEqual(generated.sort());
  });

  describe.each(CASES)("$name", (c) => {
    const value = c.fromJSON(c.json);

    it("sets every field to a non-default value in the sample", () => {
      const defaults = c.defaults();
      expect(Object.keys(value).sort()).toEqual(Object.keys(defaults).sort());
      for (const key of Object.keys(defaults)) {
        expect(value[key], key).toBeDefined();
        expect(value[key], key).not.toEqual(defaults[key]);
      }
    });

    it("writes exactly the original's keys, in fastjson's alphabetical order", () => {
      const keys = Object.keys(c.toJSON(value) as Json);
      expect(keys).toEqual(Object.keys(c.json));
      expect(keys).toEqual([...keys].sort());
      for (const extension of c.extensions) expect(keys).toContain(extension);
    });

    it("round-trips through JSON byte for byte", () => {
      expect(JSON.stringify(c.toJSON(value))).toBe(JSON.stringify(c.json));
      expect(c.fromJSON(c.toJSON(value))).toEqual(value);
    });

    it("round-trips through protobuf binary", () => {
      expect(c.binaryRoundTrip(value)).toEqual(value);
    });
  });
});

describe("real frames of the spec parse and print unchanged", () => {
  it("P2P ACK of spec §2.2 (the 0x54-byte TCP body)", () => {
    const wire = '{"code":200,"data":{"messageId":"m1","messageSequence":1},"msg":"success","ok":true}';
    const ack = message.MessageAck.fromJSON(JSON.parse(wire));
    expect(ack).toEqual({
      code: 200,
      data: { messageId: "m1", messageKey: undefined, messageSequence: 1 },
      msg: "success",
      ok: true,
    });
    // messageKey is optional, so it stays out of the JSON when not set.
    expect(JSON.stringify(message.MessageAck.toJSON(ack))).toBe(wire);
    expect(Buffer.byteLength(wire)).toBe(0x54);
  });

  it("group ACK and refused ACK of spec §5.5 carry only messageId", () => {
    const ok = '{"code":200,"data":{"messageId":"m2"},"msg":"success","ok":true}';
    const refused = '{"code":40012,"data":{"messageId":"m3"},"msg":"该群禁止发言","ok":false}';
    for (const wire of [ok, refused]) {
      expect(JSON.stringify(message.MessageAck.toJSON(message.MessageAck.fromJSON(JSON.parse(wire))))).toBe(
        wire,
      );
    }
  });

  it("MUTALOGIN over WebSocket of spec §2.3, as MutaLoginPack and as MessagePack", () => {
    const wire = '{"clientType":0,"command":9002,"toId":"u1","userId":"u1"}';
    expect(
      JSON.stringify(envelope.MutaLoginPack.toJSON(envelope.MutaLoginPack.fromJSON(JSON.parse(wire)))),
    ).toBe(wire);
    expect(JSON.stringify(envelope.MessagePack.toJSON(envelope.MessagePack.fromJSON(JSON.parse(wire))))).toBe(
      wire,
    );
  });

  it("WebSocket push envelope of spec §2.3", () => {
    const wire =
      '{"appId":10001,"clientType":1,"command":1103,"data":{"fromId":"10001"},"imei":"web","toId":"10002"}';
    expect(JSON.stringify(envelope.MessagePack.toJSON(envelope.MessagePack.fromJSON(JSON.parse(wire))))).toBe(
      wire,
    );
  });

  it("server-sent delivered ACK of spec §5.5 leaves out the device fields", () => {
    const wire = '{"fromId":"10001","messageKey":5,"messageSequence":7,"serverSend":true,"toId":"10002"}';
    const ack = message.MessageReceiveAckContent.fromJSON(JSON.parse(wire));
    expect(JSON.stringify(message.MessageReceiveAckContent.toJSON(ack))).toBe(wire);
  });

  it("LOGIN body of spec §2.1 reads the userId; an absent userSign prints as empty", () => {
    const login = envelope.LoginPack.fromJSON(JSON.parse('{"userId":"10001"}'));
    expect(login).toEqual({ userId: "10001", userSign: "" });
    // Documented difference: proto3 scalars print their default, fastjson dropped nulls.
    expect(JSON.stringify(envelope.LoginPack.toJSON(login))).toBe('{"userId":"10001","userSign":""}');
  });
});
