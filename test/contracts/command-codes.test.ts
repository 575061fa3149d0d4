import { describe, expect, it } from "vitest";
import { Command } from "../../gen/ts/whaleshark/v1/command.js";

/**
 * The 49 command codes of the original (spec §3.1–3.6), written out by hand
 * from the spec rather than derived from the generated enum, so a renumbered
 * or dropped value in command.proto fails here.
 */
const ORIGINAL_COMMANDS: ReadonlyArray<readonly [name: string, code: number]> = [
  // §3.1 SystemCommand
  ["PING", 9999],
  ["LOGIN", 9000],
  ["LOGOUT", 9003],
  ["MUTALOGIN", 9002],
  ["SENDMSG", 9005],
  // §3.2 MessageCommand
  ["MSG_P2P", 1103],
  ["MSG_ACK", 1046],
  ["MSG_RECEIVE_ACK", 1107],
  ["MSG_READ", 1106],
  ["MSG_READ_NOTIFY", 1053],
  ["MSG_READ_RECEIPT", 1054],
  ["MSG_RECALL", 1050],
  ["MSG_RECALL_ACK", 1051],
  ["MSG_RECALL_NOTIFY", 1052],
  // §3.3 GroupEventCommand
  ["JOIN_GROUP", 2000],
  ["ADDED_MEMBER", 2001],
  ["CREATED_GROUP", 2002],
  ["UPDATED_GROUP", 2003],
  ["EXIT_GROUP", 2004],
  ["UPDATED_MEMBER", 2005],
  ["DELETED_MEMBER", 2006],
  ["DESTROY_GROUP", 2007],
  ["TRANSFER_GROUP", 2008],
  ["MUTE_GROUP", 2009],
  ["SPEAK_GROUP_MEMBER", 2010],
  ["MSG_GROUP", 2104],
  ["MSG_GROUP_READ", 2106],
  ["MSG_GROUP_READ_NOTIFY", 2053],
  ["MSG_GROUP_READ_RECEIPT", 2054],
  ["GROUP_MSG_ACK", 2047],
  // §3.4 FriendshipEventCommand
  ["FRIEND_ADD", 3000],
  ["FRIEND_UPDATE", 3001],
  ["FRIEND_DELETE", 3002],
  ["FRIEND_REQUEST", 3003],
  ["FRIEND_REQUEST_READ", 3004],
  ["FRIEND_REQUEST_APPROVER", 3005],
  ["FRIEND_BLACK_ADD", 3010],
  ["FRIEND_BLACK_DELETE", 3011],
  ["FRIEND_GROUP_ADD", 3012],
  ["FRIEND_GROUP_DELETE", 3013],
  ["FRIEND_GROUP_MEMBER_ADD", 3014],
  ["FRIEND_GROUP_MEMBER_DELETE", 3015],
  ["FRIEND_ALL_DELETE", 3016],
  // §3.5 UserEventCommand
  ["USER_MODIFY", 4000],
  ["USER_ONLINE_STATUS_CHANGE", 4001],
  ["USER_ONLINE_STATUS_CHANGE_NOTIFY", 4004],
  ["USER_ONLINE_STATUS_CHANGE_NOTIFY_SYNC", 4005],
  // §3.6 ConversationEventCommand
  ["CONVERSATION_DELETE", 5000],
  ["CONVERSATION_UPDATE", 5001],
];

/** Codes WhaleShark added; each takes a number the original never used. */
const NEW_COMMANDS: ReadonlyArray<readonly [name: string, code: number]> = [
  ["LOGIN_ACK", 9001],
  ["ERROR", 9006],
  ["SYNC_MESSAGES", 9007],
  ["SYNC_MESSAGES_ACK", 9008],
  ["SYNC_CONVERSATION", 9009],
  ["SYNC_CONVERSATION_ACK", 9010],
];

/** Values every proto3 enum has (UNSPECIFIED) or ts-proto adds (UNRECOGNIZED). */
const NON_COMMANDS: ReadonlyArray<readonly [name: string, code: number]> = [
  ["COMMAND_UNSPECIFIED", 0],
  ["UNRECOGNIZED", -1],
];

/** The generated enum as (name, number) pairs, without TS's reverse mapping. */
function generatedPairs(): Array<[string, number]> {
  return Object.entries(Command).filter((entry): entry is [string, number] => typeof entry[1] === "number");
}

describe("Command enum (spec §3)", () => {
  it("lists the original's 49 codes, each name and number once", () => {
    expect(ORIGINAL_COMMANDS).toHaveLength(49);
    expect(new Set(ORIGINAL_COMMANDS.map(([name]) => name)).size).toBe(49);
    expect(new Set(ORIGINAL_COMMANDS.map(([, code]) => code)).size).toBe(49);
  });

  it.each(ORIGINAL_COMMANDS)("keeps %s at its original number %i", (name, code) => {
    const generated = new Map(generatedPairs());
    expect(generated.get(`COMMAND_${name}`)).toBe(code);
  });

  it("gives new commands numbers the original never used", () => {
    const original = new Set(ORIGINAL_COMMANDS.map(([, code]) => code));
    for (const [name, code] of NEW_COMMANDS) {
      expect(original.has(code)).toBe(false);
      expect(new Map(generatedPairs()).get(`COMMAND_${name}`)).toBe(code);
    }
  });

  it("holds nothing beyond the originals, the documented new codes and UNSPECIFIED", () => {
    const expected = [
      ...ORIGINAL_COMMANDS.map(([name, code]): [string, number] => [`COMMAND_${name}`, code]),
      ...NEW_COMMANDS.map(([name, code]): [string, number] => [`COMMAND_${name}`, code]),
      ...NON_COMMANDS,
    ];
    const byName = (a: readonly [string, number], b: readonly [string, number]): number =>
      a[0].localeCompare(b[0]);
    expect(generatedPairs().sort(byName)).toEqual(expected.sort(byName));
  });

  it("has unique numbers, so the reverse mapping names every code", () => {
    for (const [name, code] of [...ORIGINAL_COMMANDS, ...NEW_COMMANDS]) {
      expect(Command[code]).toBe(`COMMAND_${name}`);
    }
  });
});
