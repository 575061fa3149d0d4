import { describe, expect, it } from "vitest";
import { ConversationType } from "../../gen/ts/whaleshark/v1/enums.js";
import { GROUP, P2P } from "./conversation-type.js";

describe("conversation type aliases", () => {
  it("are the generated enum's members with the spec's numbers (P2P 0, GROUP 1)", () => {
    expect(P2P).toBe(ConversationType.CONVERSATION_TYPE_P2P);
    expect(GROUP).toBe(ConversationType.CONVERSATION_TYPE_GROUP);
    expect([P2P, GROUP]).toEqual([0, 1]);
  });
});
