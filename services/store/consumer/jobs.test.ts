import { describe, expect, it } from "vitest";
import { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";
import { GROUP, P2P } from "../../../lib/wire/conversation-type.js";
import { decodeGroupJob, decodeP2PJob, InvalidJobError } from "./jobs.js";

const content = {
  appId: 10001,
  clientType: 1,
  imei: "web",
  extra: "x",
  fromId: "a",
  toId: "b",
  messageBody: "hi",
  messageId: "m-1",
  messageKey: 123456,
  messageSequence: 7,
  messageTime: 1000,
};

describe("persistence jobs", () => {
  it("decodes a P2P job", () => {
    const bytes = StoreP2PMessageJob.encode({ message: content, acceptedTime: 2000 }).finish();
    expect(decodeP2PJob(bytes)).toEqual({
      conversationType: P2P,
      appId: 10001,
      messageKey: 123456n,
      messageId: "m-1",
      fromId: "a",
      toId: "b",
      sequence: 7n,
      body: "hi",
      messageTime: 1000n,
      extra: "x",
      acceptedTime: 2000n,
    });
  });

  it("decodes a group job with the group as toId and stamps a missing accept time", () => {
    const bytes = StoreGroupMessageJob.encode({
      message: { ...content, toId: "", groupId: "g1", memberIds: ["a", "b"] },
      acceptedTime: 0,
    }).finish();
    const m = decodeGroupJob(bytes);
    expect(m.conversationType).toBe(GROUP);
    expect(m.toId).toBe("g1");
    expect(m.acceptedTime).toBeGreaterThan(0n);
  });

  it("rejects undecodable and incomplete jobs as InvalidJobError", () => {
    expect(() => decodeP2PJob(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(InvalidJobError);
    expect(() => decodeP2PJob(StoreP2PMessageJob.encode({ acceptedTime: 1 }).finish())).toThrow(
      /without message/,
    );
    const noId = StoreP2PMessageJob.encode({
      message: { ...content, messageId: "", messageKey: 0 },
      acceptedTime: 1,
    });
    expect(() => decodeP2PJob(noId.finish())).toThrow(/lacks message_key, message_id/);
    const noGroup = StoreGroupMessageJob.encode({
      message: { ...content, groupId: "", memberIds: [] },
      acceptedTime: 1,
    });
    expect(() => decodeGroupJob(noGroup.finish())).toThrow(/group_id/);
  });
});
