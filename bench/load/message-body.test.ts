import { describe, expect, it } from "vitest";
import { ClientError } from "../../sdk/index.js";
import { failureKey, makeBody, readBody } from "./message-body.js";

describe("benchmark message bodies", () => {
  it("round-trips the fields and pads to about the asked size", () => {
    const fields = { r: "run1", p: 3, n: 42, t: 1_700_000_000_123.25 };
    const body = makeBody(fields, 200);
    expect(body.length).toBeGreaterThanOrEqual(190);
    expect(body.length).toBeLessThanOrEqual(200);
    expect(readBody(body)).toMatchObject(fields);
    expect(readBody(makeBody(fields, 0))).toEqual(fields);
  });

  it("ignores bodies that are not the benchmark's", () => {
    expect(readBody("hello")).toBeUndefined();
    expect(readBody('{"r":1}')).toBeUndefined();
    expect(readBody('{"r":"x","p":1')).toBeUndefined();
  });

  it("names failures by reason and server code", () => {
    expect(failureKey(new ClientError("refused", { code: 30008, msg: "not friends" }))).toBe("refused:30008");
    expect(failureKey(new ClientError("unknown"))).toBe("unknown");
    expect(failureKey(new Error("boom"))).toBe("boom");
  });
});
