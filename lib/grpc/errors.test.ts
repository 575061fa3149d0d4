import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { GrpcStatus, ImError } from "../errors/index.js";
import { CODE_TRAILER, errorCodeOf, grpcStatusOf, permissionDenied, toServiceError } from "./errors.js";

describe("toServiceError", () => {
  it("maps an ImError to its catalogue status, text and whaleshark-code trailer", () => {
    const error = toServiceError(ImError.of("GROUP_IS_NOT_EXIST", "g1"));
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details).toBe("群不存在: g1");
    expect(error.metadata?.get(CODE_TRAILER)).toEqual(["40000"]);
    expect(errorCodeOf(error)).toBe(40000);
  });

  it("maps the signing codes to UNAUTHENTICATED", () => {
    const error = toServiceError(ImError.of("USERSIGN_IS_EXPIRED"));
    expect(error.code).toBe(status.UNAUTHENTICATED);
    expect(errorCodeOf(error)).toBe(60004);
  });

  it("honours a status override (60005 as PERMISSION_DENIED)", () => {
    const denied = permissionDenied("USERSIGN_OPERATE_NOT_MATE", "not yours");
    expect(grpcStatusOf(denied)).toBe(GrpcStatus.PERMISSION_DENIED);
    const error = toServiceError(denied);
    expect(error.code).toBe(status.PERMISSION_DENIED);
    expect(errorCodeOf(error)).toBe(60005);
    expect(grpcStatusOf(ImError.of("USERSIGN_OPERATE_NOT_MATE"))).toBe(GrpcStatus.UNAUTHENTICATED);
  });

  it("turns anything else into INTERNAL 90000 without leaking its text", () => {
    const error = toServiceError(new Error("connect ECONNREFUSED 10.0.0.5:5432 password=secret"));
    expect(error.code).toBe(status.INTERNAL);
    expect(errorCodeOf(error)).toBe(90000);
    expect(error.details).toBe("服务器内部错误,请联系管理员");
    expect(JSON.stringify(error)).not.toContain("ECONNREFUSED");
    expect(errorCodeOf(toServiceError("a string"))).toBe(90000);
  });

  it("reads no code from metadata without the trailer", () => {
    expect(errorCodeOf({ metadata: new Metadata() })).toBeUndefined();
    expect(errorCodeOf({})).toBeUndefined();
  });
});
