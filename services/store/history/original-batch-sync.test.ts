import { describe, expect, it } from "vitest";
import { ConversationType } from "../../../gen/ts/whaleshark/v1/enums.js";
import { OriginalConversationType } from "../../../gen/ts/whaleshark/v1/history_service.js";
import {
  fromOriginalType,
  toContractRequest,
  toOriginalResponse,
  toOriginalType,
} from "./original-batch-sync.js";

const { ORIGINAL_CONVERSATION_TYPE_P2P: P2P, ORIGINAL_CONVERSATION_TYPE_GROUP: GROUP } =
  OriginalConversationType;

describe("the original's conversation types in batchSyncMessage (1 P2P, 2 group)", () => {
  it("translate 1 → P2P (0) and 2 → GROUP (1), and nothing else", () => {
    expect(fromOriginalType(1)).toBe(ConversationType.CONVERSATION_TYPE_P2P);
    expect(fromOriginalType(2)).toBe(ConversationType.CONVERSATION_TYPE_GROUP);
    for (const other of [0, 3, 4, -1, 99]) expect(fromOriginalType(other)).toBeUndefined();
  });

  it("translate back: P2P (0) → 1, GROUP (1) → 2", () => {
    expect(toOriginalType(ConversationType.CONVERSATION_TYPE_P2P)).toBe(1);
    expect(toOriginalType(ConversationType.CONVERSATION_TYPE_GROUP)).toBe(2);
    expect(() => toOriginalType(ConversationType.CONVERSATION_TYPE_ROBOT)).toThrow();
  });

  it("turn a request into BatchSyncMessages', skipping other types and keeping the order", () => {
    const req = toContractRequest({
      appId: 10001,
      operater: "ann",
      clientType: 1,
      imei: "web",
      userId: "ann",
      maxCount: 20,
      conversations: [
        { conversationId: "g1", conversationType: GROUP, sequence: 4 },
        { conversationId: "zero", conversationType: 0, sequence: 0 },
        { conversationId: "bob", conversationType: P2P, sequence: 7 },
        // A number the enum does not name, as it arrives from the wire (open enum).
        { conversationId: "three", conversationType: 3 as OriginalConversationType, sequence: 0 },
        {
          conversationId: "unrecognized",
          conversationType: OriginalConversationType.UNRECOGNIZED,
          sequence: 0,
        },
      ],
    });
    expect(req).toEqual({
      appId: 10001,
      operater: "ann",
      clientType: 1,
      imei: "web",
      userId: "ann",
      maxCount: 20,
      conversations: [
        { conversationId: "g1", conversationType: ConversationType.CONVERSATION_TYPE_GROUP, sequence: 4 },
        { conversationId: "bob", conversationType: ConversationType.CONVERSATION_TYPE_P2P, sequence: 7 },
      ],
    });
  });

  it("echo the original numbers in the answer, the rest unchanged", () => {
    const message = { messageKey: 1, messageSequence: 5, conversationType: 1 };
    const res = toOriginalResponse({
      conversationList: [
        { conversationId: "g1", conversationType: 1, maxSequence: 6, completed: true, messages: [] },
        {
          conversationId: "bob",
          conversationType: 0,
          maxSequence: 9,
          completed: false,
          messages: [message as never],
        },
      ],
    });
    expect(res).toEqual({
      conversationList: [
        { conversationId: "g1", conversationType: GROUP, maxSequence: 6, completed: true, messages: [] },
        {
          conversationId: "bob",
          conversationType: P2P,
          maxSequence: 9,
          completed: false,
          messages: [message],
        },
      ],
    });
    // The rows keep the contracts' numbering (HistoryMessage.conversation_type).
    expect(res.conversationList[1]?.messages[0]?.conversationType).toBe(1);
  });
});
