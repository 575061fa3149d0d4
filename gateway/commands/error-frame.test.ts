import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ImError } from "../../lib/errors/index.js";
import { toServiceError } from "../../lib/grpc/errors.js";
import { type ErrorInfo, errorInfo, errorInfoOf, errorInfoOfCall, errorJson } from "./error-frame.js";

describe("error infos", () => {
  it("keep a domain's code and text from the whaleshark-code trailer", () => {
    const err = toServiceError(ImError.of("FRIEND_IS_BLACK"));
    expect(errorInfoOfCall(err)).toEqual({ code: 30006, msg: "好友已被拉黑" });
  });

  it("map an unreachable or slow domain to 71000 and anything else to 90000, leaking no status text", () => {
    for (const code of [1, 4, 14]) {
      expect(
        errorInfoOfCall({ code, details: "connect ECONNREFUSED 10.0.0.7:18000", metadata: new Metadata() }),
      ).toEqual(errorInfo("SERVER_NOT_AVAILABLE", "domain unavailable"));
    }
    const unimplemented = errorInfoOfCall({
      code: 12,
      details: "secret internals",
      metadata: new Metadata(),
    });
    expect(unimplemented.code).toBe(90000);
    expect(unimplemented.msg).not.toContain("secret");
    expect(errorInfoOfCall(new Error("boom")).code).toBe(90000);
  });

  it("turn ImErrors into their code and anything else into 90000", () => {
    expect(errorInfoOf(ImError.of("USERSIGN_IS_EXPIRED"))).toEqual({ code: 60004, msg: "用户签名已过期" });
    expect(errorInfoOf(new TypeError("internal detail"))).toEqual(errorInfo("SYSTEM_ERROR"));
    expect(errorInfo("PARAMETER_ERROR", "x")).toEqual({ code: 90001, msg: "参数校验错误: x" });
  });
});

describe("errorJson", () => {
  /** What sendError used to write: JSON.stringify of the ResponseVo object. */
  const stringified = (info: ErrorInfo, command: number, messageId?: string) =>
    JSON.stringify({
      code: info.code,
      data: messageId === undefined ? { command } : { command, messageId },
      msg: info.msg,
      ok: false,
    });

  it.each([
    [errorInfo("USERSIGN_OPERATE_NOT_MATE", "fromId is not the logged-in user"), 1103, "bench-echo"],
    [errorInfo("PARAMETER_ERROR", 'quote " backslash \\ newline \n tab \t'), 9007, undefined],
    [{ code: -0, msg: "" }, -1, 'id "with" \u2028 ✓ \ud800'],
    [{ code: Number.NaN, msg: "𝄞" }, Number.POSITIVE_INFINITY, ""],
  ] as Array<[ErrorInfo, number, string | undefined]>)(
    "writes JSON.stringify's text for %j",
    (info, command, id) => {
      expect(errorJson(info, command, id)).toBe(stringified(info, command, id));
    },
  );

  it("gives up (undefined) on a field of the wrong type, so the caller stringifies", () => {
    expect(errorJson({ code: "1" as unknown as number, msg: "m" }, 1)).toBeUndefined();
    expect(errorJson({ code: 1, msg: undefined as unknown as string }, 1)).toBeUndefined();
  });
});
