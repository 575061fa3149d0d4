import { describe, expect, it } from "vitest";
import { CODE_RANGES, ERROR_NAMES, ErrorCatalogue, errorNameOf, GrpcStatus } from "./index.js";

/**
 * Spec §10.1 written out by hand, code → name. The one deliberate change: MESSAGEBODY_IS_NOT_EXIST
 * (a never-used duplicate of 50003 in the original) is 50006. WhaleShark's own additions are
 * marked where they stand.
 */
const SPEC_10_1: ReadonlyArray<readonly [number, string]> = [
  [200, "SUCCESS"],
  [500, "INTERNAL_ERROR"],
  [20000, "USER_IMPORT_SIZE_BEYOND"],
  [20001, "USER_IS_NOT_EXIST"],
  [20002, "SERVER_GET_USER_ERROR"],
  [20003, "MODIFY_USER_ERROR"],
  [20004, "PRESENCE_LIMIT_EXCEEDED"], // WhaleShark's own: presence subscription limits
  [30000, "FRIENDSHIP_IMPORT_SIZE_BEYOND"],
  [30001, "ADD_FRIEND_ERROR"],
  [30002, "TO_IS_YOUR_FRIEND"],
  [30003, "TO_IS_NOT_YOUR_FRIEND"],
  [30004, "FRIEND_IS_DELETED"],
  [30005, "FRIEND_IS_DELETED_YOU"],
  [30006, "FRIEND_IS_BLACK"],
  [30007, "TARGET_IS_BLACK_YOU"],
  [30008, "REPEATSHIP_IS_NOT_EXIST"],
  [30009, "ADD_BLACK_ERROR"],
  [30010, "FRIEND_IS_NOT_YOUR_BLACK"],
  [30011, "NOT_APPROVER_OTHER_MAN_REQUEST"],
  [30012, "FRIEND_REQUEST_IS_NOT_EXIST"],
  [30014, "FRIEND_SHIP_GROUP_CREATE_ERROR"],
  [30015, "FRIEND_SHIP_GROUP_IS_EXIST"],
  [30016, "FRIEND_SHIP_GROUP_IS_NOT_EXIST"],
  [40000, "GROUP_IS_NOT_EXIST"],
  [40001, "GROUP_IS_EXIST"],
  [40002, "GROUP_IS_HAVE_OWNER"],
  [40003, "USER_IS_JOINED_GROUP"],
  [40004, "USER_JOIN_GROUP_ERROR"],
  [40005, "GROUP_MEMBER_IS_BEYOND"],
  [40006, "MEMBER_IS_NOT_JOINED_GROUP"],
  [40007, "THIS_OPERATE_NEED_MANAGER_ROLE"],
  [40008, "THIS_OPERATE_NEED_APPMANAGER_ROLE"],
  [40009, "THIS_OPERATE_NEED_OWNER_ROLE"],
  [40010, "GROUP_OWNER_IS_NOT_REMOVE"],
  [40011, "UPDATE_GROUP_BASE_INFO_ERROR"],
  [40012, "THIS_GROUP_IS_MUTE"],
  [40013, "IMPORT_GROUP_ERROR"],
  [40014, "THIS_OPERATE_NEED_ONESELF"],
  [40015, "PRIVATE_GROUP_CAN_NOT_DESTORY"],
  [40016, "PUBLIC_GROUP_MUST_HAVE_OWNER"],
  [40017, "GROUP_MEMBER_IS_SPEAK"],
  [40018, "GROUP_IS_DESTROY"],
  [40019, "GROUP_FORBID_APPLY"], // WhaleShark's own: joining groups
  [40020, "JOIN_REQUEST_IS_NOT_EXIST"], // WhaleShark's own: joining groups
  [40021, "GROUP_FORBID_PRIVATE_CHAT"], // WhaleShark's own: group privateChat
  [50000, "CONVERSATION_UPDATE_PARAM_ERROR"],
  [50001, "CONVERSATION_CREATE_FAIL"],
  [50002, "FROMER_IS_MUTE"],
  [50003, "FROMER_IS_FORBIBBEN"],
  [50004, "MESSAGE_RECALL_TIME_OUT"],
  [50005, "MESSAGE_IS_RECALLED"],
  [50006, "MESSAGEBODY_IS_NOT_EXIST"],
  [51001, "MESSAGEBODY_PERSISTENCE_ERROR"],
  [51002, "MESSAGEHISTORY_PERSISTENCE_ERROR"],
  [52001, "MESSAGE_CACHE_EXPIRE"],
  [60000, "USERSIGN_NOT_EXIST"],
  [60001, "APPID_NOT_EXIST"],
  [60002, "OPERATER_NOT_EXIST"],
  [60003, "USERSIGN_IS_ERROR"],
  [60004, "USERSIGN_IS_EXPIRED"],
  [60005, "USERSIGN_OPERATE_NOT_MATE"],
  [60006, "SEND_RATE_EXCEEDED"], // WhaleShark's own: the gateway's send rate limit
  [71000, "SERVER_NOT_AVAILABLE"],
  [90000, "SYSTEM_ERROR"],
  [90001, "PARAMETER_ERROR"],
];

describe("ErrorCatalogue", () => {
  it("matches the written-out spec §10.1 table exactly", () => {
    const actual = ERROR_NAMES.map((name) => [ErrorCatalogue[name].code, name] as const);
    expect(actual).toEqual(SPEC_10_1);
  });

  it("has unique codes and unique names", () => {
    const codes = ERROR_NAMES.map((name) => ErrorCatalogue[name].code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(ERROR_NAMES).size).toBe(ERROR_NAMES.length);
  });

  it("puts every code in exactly one written range", () => {
    for (const name of ERROR_NAMES) {
      const { code } = ErrorCatalogue[name];
      const ranges = CODE_RANGES.filter((range) => code >= range.from && code <= range.to);
      expect(ranges, `${name} ${code}`).toHaveLength(1);
    }
  });

  it("gives every entry a known gRPC status and a non-empty message", () => {
    const statuses = new Set<number>(Object.values(GrpcStatus));
    for (const name of ERROR_NAMES) {
      const entry = ErrorCatalogue[name];
      expect(statuses.has(entry.grpc), name).toBe(true);
      expect(entry.message.length, name).toBeGreaterThan(0);
      // only success maps to OK
      expect(entry.grpc === GrpcStatus.OK, name).toBe(name === "SUCCESS");
    }
  });

  it("maps the families the way the edges expect", () => {
    expect(ErrorCatalogue.USER_IS_NOT_EXIST.grpc).toBe(GrpcStatus.NOT_FOUND);
    expect(ErrorCatalogue.GROUP_IS_EXIST.grpc).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(ErrorCatalogue.USER_IS_JOINED_GROUP.grpc).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(ErrorCatalogue.THIS_OPERATE_NEED_OWNER_ROLE.grpc).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(ErrorCatalogue.PARAMETER_ERROR.grpc).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(ErrorCatalogue.SYSTEM_ERROR.grpc).toBe(GrpcStatus.INTERNAL);
    expect(ErrorCatalogue.INTERNAL_ERROR.grpc).toBe(GrpcStatus.INTERNAL);
    expect(ErrorCatalogue.SERVER_NOT_AVAILABLE.grpc).toBe(GrpcStatus.UNAVAILABLE);
    for (let code = 60000; code <= 60005; code++) {
      const name = errorNameOf(code);
      expect(name && ErrorCatalogue[name].grpc).toBe(GrpcStatus.UNAUTHENTICATED);
    }
  });

  it("keeps the original message texts", () => {
    expect(ErrorCatalogue.SYSTEM_ERROR.message).toBe("服务器内部错误,请联系管理员");
    expect(ErrorCatalogue.USERSIGN_IS_EXPIRED.message).toBe("用户签名已过期");
    expect(ErrorCatalogue.MESSAGEBODY_IS_NOT_EXIST.message).toBe("消息体不存在");
  });

  it("looks names up by code", () => {
    expect(errorNameOf(60003)).toBe("USERSIGN_IS_ERROR");
    expect(errorNameOf(50003)).toBe("FROMER_IS_FORBIBBEN");
    expect(errorNameOf(30013)).toBeUndefined();
  });
});
