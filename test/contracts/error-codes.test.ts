import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../gen/ts/whaleshark/v1/error_code.js";

/**
 * Every ResponseVO code of the original (spec §10.1) with its original
 * constant name, written out by hand from the spec. Two renames keep names
 * unique: both IMPORT_SIZE_BEYOND constants get their family as a prefix.
 */
const ORIGINAL_CODES: ReadonlyArray<readonly [name: string, code: number]> = [
  ["SUCCESS", 200],
  ["INTERNAL_ERROR", 500],
  ["SYSTEM_ERROR", 90000],
  ["PARAMETER_ERROR", 90001],
  ["USER_IMPORT_SIZE_BEYOND", 20000],
  ["USER_IS_NOT_EXIST", 20001],
  ["SERVER_GET_USER_ERROR", 20002],
  ["MODIFY_USER_ERROR", 20003],
  ["SERVER_NOT_AVAILABLE", 71000],
  ["FRIENDSHIP_IMPORT_SIZE_BEYOND", 30000],
  ["ADD_FRIEND_ERROR", 30001],
  ["TO_IS_YOUR_FRIEND", 30002],
  ["TO_IS_NOT_YOUR_FRIEND", 30003],
  ["FRIEND_IS_DELETED", 30004],
  ["FRIEND_IS_DELETED_YOU", 30005],
  ["FRIEND_IS_BLACK", 30006],
  ["TARGET_IS_BLACK_YOU", 30007],
  ["REPEATSHIP_IS_NOT_EXIST", 30008],
  ["ADD_BLACK_ERROR", 30009],
  ["FRIEND_IS_NOT_YOUR_BLACK", 30010],
  ["NOT_APPROVER_OTHER_MAN_REQUEST", 30011],
  ["FRIEND_REQUEST_IS_NOT_EXIST", 30012],
  ["FRIEND_SHIP_GROUP_CREATE_ERROR", 30014],
  ["FRIEND_SHIP_GROUP_IS_EXIST", 30015],
  ["FRIEND_SHIP_GROUP_IS_NOT_EXIST", 30016],
  ["GROUP_IS_NOT_EXIST", 40000],
  ["GROUP_IS_EXIST", 40001],
  ["GROUP_IS_HAVE_OWNER", 40002],
  ["USER_IS_JOINED_GROUP", 40003],
  ["USER_JOIN_GROUP_ERROR", 40004],
  ["GROUP_MEMBER_IS_BEYOND", 40005],
  ["MEMBER_IS_NOT_JOINED_GROUP", 40006],
  ["THIS_OPERATE_NEED_MANAGER_ROLE", 40007],
  ["THIS_OPERATE_NEED_APPMANAGER_ROLE", 40008],
  ["THIS_OPERATE_NEED_OWNER_ROLE", 40009],
  ["GROUP_OWNER_IS_NOT_REMOVE", 40010],
  ["UPDATE_GROUP_BASE_INFO_ERROR", 40011],
  ["THIS_GROUP_IS_MUTE", 40012],
  ["IMPORT_GROUP_ERROR", 40013],
  ["THIS_OPERATE_NEED_ONESELF", 40014],
  ["PRIVATE_GROUP_CAN_NOT_DESTORY", 40015],
  ["PUBLIC_GROUP_MUST_HAVE_OWNER", 40016],
  ["GROUP_MEMBER_IS_SPEAK", 40017],
  ["GROUP_IS_DESTROY", 40018],
  ["CONVERSATION_UPDATE_PARAM_ERROR", 50000],
  ["CONVERSATION_CREATE_FAIL", 50001],
  ["FROMER_IS_MUTE", 50002],
  ["FROMER_IS_FORBIBBEN", 50003],
  ["MESSAGE_RECALL_TIME_OUT", 50004],
  ["MESSAGE_IS_RECALLED", 50005],
  ["MESSAGEBODY_PERSISTENCE_ERROR", 51001],
  ["MESSAGEHISTORY_PERSISTENCE_ERROR", 51002],
  ["MESSAGE_CACHE_EXPIRE", 52001],
  ["USERSIGN_NOT_EXIST", 60000],
  ["APPID_NOT_EXIST", 60001],
  ["OPERATER_NOT_EXIST", 60002],
  ["USERSIGN_IS_ERROR", 60003],
  ["USERSIGN_IS_EXPIRED", 60004],
  ["USERSIGN_OPERATE_NOT_MATE", 60005],
];

/**
 * The original declared MESSAGEBODY_IS_NOT_EXIST at 50003 too, a duplicate it
 * never sent. 50003 keeps FROMER_IS_FORBIBBEN (what the original actually
 * sent) and MESSAGEBODY_IS_NOT_EXIST moves to the free number 50006.
 */
const RENUMBERED: ReadonlyArray<readonly [name: string, originalCode: number, code: number]> = [
  ["MESSAGEBODY_IS_NOT_EXIST", 50003, 50006],
];

/** Codes WhaleShark added, at numbers the original never used, for what the original lacked. */
const ADDED: ReadonlyArray<readonly [name: string, code: number]> = [
  ["SEND_RATE_EXCEEDED", 60006], // the gateway's send rate limit (gateway/commands/send-rate.ts)
  ["GROUP_FORBID_APPLY", 40019], // joining groups: nobody may apply (group-member/join-requests.ts)
  ["JOIN_REQUEST_IS_NOT_EXIST", 40020], // joining groups: no pending request to decide
  ["GROUP_FORBID_PRIVATE_CHAT", 40021], // group privateChat (messaging/send-checks.ts checkPrivateChat)
  ["PRESENCE_LIMIT_EXCEEDED", 20004], // presence subscription limits (services/domain/presence)
];

/** Values every proto3 enum has (UNSPECIFIED) or ts-proto adds (UNRECOGNIZED). */
const NON_CODES: ReadonlyArray<readonly [name: string, code: number]> = [
  ["ERROR_CODE_UNSPECIFIED", 0],
  ["UNRECOGNIZED", -1],
];

/** The generated enum as (name, number) pairs, without TS's reverse mapping. */
function generatedPairs(): Array<[string, number]> {
  return Object.entries(ErrorCode).filter((entry): entry is [string, number] => typeof entry[1] === "number");
}

describe("ErrorCode enum (spec §10.1)", () => {
  it("lists every original code once, with unique names and numbers", () => {
    // 60 rows in §10.1, one of them the duplicate 50003 handled in RENUMBERED.
    expect(ORIGINAL_CODES.length + RENUMBERED.length).toBe(60);
    expect(new Set(ORIGINAL_CODES.map(([name]) => name)).size).toBe(ORIGINAL_CODES.length);
    expect(new Set(ORIGINAL_CODES.map(([, code]) => code)).size).toBe(ORIGINAL_CODES.length);
  });

  it.each(ORIGINAL_CODES)("keeps %s at its original number %i", (name, code) => {
    expect(new Map(generatedPairs()).get(`ERROR_CODE_${name}`)).toBe(code);
  });

  it("keeps 50003 for the sender-disabled error the original sent", () => {
    expect(ErrorCode.ERROR_CODE_FROMER_IS_FORBIBBEN).toBe(50003);
    expect(ErrorCode[50003]).toBe("ERROR_CODE_FROMER_IS_FORBIBBEN");
  });

  it.each(RENUMBERED)("moves the duplicate %s from %i to the unused %i", (name, originalCode, code) => {
    expect(new Map(generatedPairs()).get(`ERROR_CODE_${name}`)).toBe(code);
    expect(ErrorCode[originalCode]).not.toBe(`ERROR_CODE_${name}`);
    expect(ORIGINAL_CODES.some(([, c]) => c === code)).toBe(false);
  });

  it.each(ADDED)("adds %s at %i, a number the original never used", (name, code) => {
    expect(new Map(generatedPairs()).get(`ERROR_CODE_${name}`)).toBe(code);
    expect(ORIGINAL_CODES.some(([, c]) => c === code)).toBe(false);
    expect(RENUMBERED.some(([, original, c]) => original === code || c === code)).toBe(false);
  });

  it("holds nothing beyond the original codes, the additions and UNSPECIFIED", () => {
    const expected = [
      ...ORIGINAL_CODES.map(([name, code]): [string, number] => [`ERROR_CODE_${name}`, code]),
      ...RENUMBERED.map(([name, , code]): [string, number] => [`ERROR_CODE_${name}`, code]),
      ...ADDED.map(([name, code]): [string, number] => [`ERROR_CODE_${name}`, code]),
      ...NON_CODES,
    ];
    const byName = (a: readonly [string, number], b: readonly [string, number]): number =>
      a[0].localeCompare(b[0]);
    expect(generatedPairs().sort(byName)).toEqual(expected.sort(byName));
  });
});
