/**
 * The callback events of spec §7, each with its phase and its own config
 * flag (fixes D8: the original gated delete-friend, delete-black and
 * destroy-group with other events' flags and sent friend.update.after
 * through the before path). The event strings are the original's, typos
 * included (`group.destory.after`, `black.delete`), because app servers
 * match on them. The last four never fired in the original and do now.
 */
export const CALLBACK_EVENTS = {
  "user.modify.after": { phase: "after", flag: "modifyUserAfterCallback" },
  "friend.add.before": { phase: "before", flag: "addFriendBeforeCallback" },
  "friend.add.after": { phase: "after", flag: "addFriendAfterCallback" },
  "friend.update.before": { phase: "before", flag: "modifyFriendBeforeCallback" },
  "friend.update.after": { phase: "after", flag: "modifyFriendAfterCallback" },
  "friend.delete.after": { phase: "after", flag: "deleteFriendAfterCallback" },
  "black.add.after": { phase: "after", flag: "addFriendShipBlackAfterCallback" },
  "black.delete": { phase: "after", flag: "deleteFriendShipBlackAfterCallback" },
  "group.create.after": { phase: "after", flag: "createGroupAfterCallback" },
  "group.update.after": { phase: "after", flag: "modifyGroupAfterCallback" },
  "group.destory.after": { phase: "after", flag: "destroyGroupAfterCallback" },
  "group.transfer.after": { phase: "after", flag: "transferGroupAfterCallback" },
  "group.member.add.before": { phase: "before", flag: "addGroupMemberBeforeCallback" },
  "group.member.add.after": { phase: "after", flag: "addGroupMemberAfterCallback" },
  "group.member.delete.after": { phase: "after", flag: "deleteGroupMemberAfterCallback" },
  "message.send.before": { phase: "before", flag: "sendMessageBeforeCallback" },
  "message.send.after": { phase: "after", flag: "sendMessageAfterCallback" },
} as const;

/** A callback command string, e.g. `friend.add.before`. */
export type CallbackEvent = keyof typeof CALLBACK_EVENTS;

/** Events that run before the action and may refuse it. */
export type BeforeEvent = {
  [E in CallbackEvent]: (typeof CALLBACK_EVENTS)[E]["phase"] extends "before" ? E : never;
}[CallbackEvent];

/** Events sent after the action, in the background. */
export type AfterEvent = Exclude<CallbackEvent, BeforeEvent>;

/** The config flag names, one per event. */
export type CallbackFlag = (typeof CALLBACK_EVENTS)[CallbackEvent]["flag"];

/** The `callbacks` config section as the dispatcher reads it. */
export type CallbacksConfig = {
  readonly url?: string | undefined;
  readonly timeoutMs: number;
  readonly beforeFailure: "open" | "closed";
  readonly afterMaxAttempts: number;
  readonly afterRetryDelayMs: number;
  readonly afterMaxPending: number;
} & { readonly [F in CallbackFlag]: boolean };
