import { describe, expect, it } from "vitest";
import { fail, GrpcStatus, ImError, isImError, ok } from "./index.js";

describe("ImError", () => {
  it("carries the catalogue code, gRPC status, detail, cause and data", () => {
    const cause = new Error("db down");
    const error = ImError.of("GROUP_IS_NOT_EXIST", "g1", { cause, data: { groupId: "g1" } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("GROUP_IS_NOT_EXIST");
    expect(error.code).toBe(40000);
    expect(error.grpcStatus).toBe(GrpcStatus.NOT_FOUND);
    expect(error.message).toBe("群不存在: g1");
    expect(error.detail).toBe("g1");
    expect(error.cause).toBe(cause);
    expect(error.data).toEqual({ groupId: "g1" });
    expect(new ImError("USER_IS_NOT_EXIST").message).toBe("用户不存在");
  });

  it("is recognised by isImError, plain errors and look-alikes are not", () => {
    expect(isImError(ImError.of("PARAMETER_ERROR"))).toBe(true);
    expect(isImError(new Error("x"))).toBe(false);
    expect(isImError({ code: 90001, name: "PARAMETER_ERROR" })).toBe(false);
    expect(isImError(null)).toBe(false);
  });
});

describe("ResponseVo", () => {
  it("wraps success as code 200 with ok true", () => {
    expect(ok({ messageId: "m1", messageSequence: 3 })).toEqual({
      code: 200,
      msg: "success",
      data: { messageId: "m1", messageSequence: 3 },
      ok: true,
    });
    expect(ok()).toEqual({ code: 200, msg: "success", data: null, ok: true });
  });

  it("wraps an ImError with its code, message and data, ok false", () => {
    expect(fail(ImError.of("TO_IS_NOT_YOUR_FRIEND", undefined, { data: { toId: "u2" } }))).toEqual({
      code: 30003,
      msg: "对方不是你的好友",
      data: { toId: "u2" },
      ok: false,
    });
  });

  it("turns an unknown error into 90000 without leaking its text", () => {
    const vo = fail(new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2"));
    expect(vo).toEqual({ code: 90000, msg: "服务器内部错误,请联系管理员", data: null, ok: false });
    expect(JSON.stringify(vo)).not.toContain("hunter2");
    expect(fail("a string").code).toBe(90000);
  });
});
