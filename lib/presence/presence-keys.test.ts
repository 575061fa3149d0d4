import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryKvStore } from "../adapters/memory/kv-store.js";
import {
  customKey,
  DUE_BUCKET_MS,
  dueBucket,
  dueKey,
  PresenceMarks,
  parseCustomStatus,
  parseDueField,
} from "./presence-keys.js";

describe("presence keys", () => {
  let kv: MemoryKvStore;
  beforeEach(() => {
    kv = new MemoryKvStore();
  });
  afterEach(() => kv.close());

  it("marks a change in the bucket one coalescing window ahead", async () => {
    const now = 10 * DUE_BUCKET_MS + 1;
    await new PresenceMarks(kv, 1000, () => now).changed(10001, "al:ice");
    const fields = await kv.hgetall(dueKey(dueBucket(now + 1000)));
    expect(Object.keys(fields)).toEqual(["10001:al:ice"]);
    expect(parseDueField("10001:al:ice")).toEqual({ appId: 10001, userId: "al:ice" });
    expect(parseDueField(":x")).toBeNull();
    expect(parseDueField("0:x")).toBeNull();
    expect(parseDueField("10001:")).toBeNull();
  });

  it("stores a custom status, and an empty text that clears it", async () => {
    const marks = new PresenceMarks(kv, 0);
    await marks.setCustom(10001, "alice", { text: "away", clientType: 3, imei: "phone" });
    expect(parseCustomStatus(await kv.get(customKey(10001, "alice")))).toEqual({
      text: "away",
      clientType: 3,
      imei: "phone",
    });
    await marks.setCustom(10001, "alice", { text: "", clientType: 3, imei: "phone" });
    expect(parseCustomStatus(await kv.get(customKey(10001, "alice")))?.text).toBe("");
    expect(parseCustomStatus("{not json")).toBeNull();
  });
});
