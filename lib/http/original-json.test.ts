import { create, type DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { isImError } from "../errors/index.js";
import { readRequest, writeField, writeOriginal } from "./original-json.js";
import { contractRegistry } from "./routes.js";

function message(name: string): DescMessage {
  const desc = contractRegistry().getMessage(`whaleshark.v1.${name}`);
  if (desc === undefined) throw new Error(name);
  return desc;
}

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (e) {
    if (isImError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("not refused");
}

describe("the original's request JSON", () => {
  it("reads RequestBase and the original keys, ignoring unknown keys and nulls", () => {
    const req = readRequest(message("AddFriendRequest"), {
      appId: 10001,
      operater: "ann",
      clientType: 1,
      imei: "web",
      fromId: "ann",
      toItem: { toId: "bob", remark: null, addSource: "qr", addWording: "hi" },
      somethingElse: [1, 2],
    });
    expect(req).toMatchObject({
      appId: 10001,
      operater: "ann",
      clientType: 1,
      imei: "web",
      fromId: "ann",
      toItem: { toId: "bob", addSource: "qr", addWording: "hi" },
    });
    expect((req.toItem as { remark?: string }).remark).toBeUndefined();
  });

  it("takes int64 as numbers or strings and enums as numbers", () => {
    const req = readRequest(message("SyncFriendshipsRequest"), { lastSequence: 12, maxLimit: "5" });
    expect(req).toMatchObject({ lastSequence: 12n, maxLimit: 5 });
    const check = readRequest(message("CheckFriendRequest"), { toIds: ["b"], checkType: 2 });
    expect(check.checkType).toBe(2);
  });

  it("refuses int64 values past 2^53 − 1 with 90001, nested ones too", () => {
    const big = "9007199254740993";
    expect(
      refusal(() => readRequest(message("SyncFriendshipsRequest"), { lastSequence: big })).message,
    ).toMatch(/last_sequence/);
    const batch = { conversations: [{ conversationId: "b", sequence: big }] };
    expect(refusal(() => readRequest(message("BatchSyncMessagesRequest"), batch)).code).toBe(90001);
    expect(
      readRequest(message("SyncFriendshipsRequest"), { lastSequence: Number.MAX_SAFE_INTEGER }),
    ).toBeDefined();
  });

  it("refuses what the message cannot hold with 90001", () => {
    expect(refusal(() => readRequest(message("AddFriendRequest"), { fromId: 12 })).code).toBe(90001);
    expect(refusal(() => readRequest(message("AddFriendRequest"), [])).code).toBe(90001);
    expect(refusal(() => readRequest(message("AddFriendRequest"), "x")).code).toBe(90001);
  });
});

describe("the original's response JSON", () => {
  it("writes int64 as numbers, enums as numbers, defaults and empty lists", () => {
    const desc = message("SyncFriendshipsResponse");
    const friendship = create(message("Friendship"), {
      fromId: "ann",
      toId: "bob",
      friendSequence: 7n,
    } as never);
    const out = writeOriginal(
      desc,
      create(desc, { maxSequence: 7n, dataList: [friendship] } as never) as never,
    );
    expect(out).toMatchObject({
      maxSequence: 7,
      completed: false,
      dataList: [{ fromId: "ann", friendSequence: 7 }],
    });
    const empty = writeOriginal(desc, create(desc) as never);
    expect(empty).toEqual({ maxSequence: 0, completed: false, dataList: [] });
  });

  it("writes maps with number values and leaves unset optional fields out", () => {
    const desc = message("GetUserSequenceResponse");
    const msg = create(desc, { sequences: { friendShipSeq: 3n } } as never) as Record<string, unknown>;
    const field = desc.fields[0];
    if (field === undefined) throw new Error("no field");
    expect(writeField(field, msg[field.localName])).toEqual({ friendShipSeq: 3 });
    const update = message("UpdateGroupMemberRequest");
    expect(writeOriginal(update, create(update, { groupId: "g" } as never) as never)).not.toHaveProperty(
      "alias",
    );
  });
});
