import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import * as conversation from "../../gen/ts/whaleshark/v1/conversation_pack.js";
import type { MessageFns } from "../../gen/ts/whaleshark/v1/envelope.js";
import * as envelope from "../../gen/ts/whaleshark/v1/envelope.js";
import * as friendship from "../../gen/ts/whaleshark/v1/friendship_pack.js";
import * as group from "../../gen/ts/whaleshark/v1/group_pack.js";
import * as message from "../../gen/ts/whaleshark/v1/message.js";
import * as sync from "../../gen/ts/whaleshark/v1/sync.js";
import * as user from "../../gen/ts/whaleshark/v1/user_pack.js";

/**
 * The generated functions of one payload message with its type erased, so that one table can hold
 * every command. The casts below only erase T; each codec is only fed values of its own message.
 */
export interface PayloadCodec {
  /** Proto message name, e.g. "MessageContent" (for logs and errors). */
  readonly name: string;
  /** Protobuf bytes → message; throws on malformed input. */
  decode(bytes: Uint8Array): unknown;
  /** Message → Protobuf bytes; throws when a field cannot be encoded (e.g. a non-integer int32). */
  encode(value: unknown): Uint8Array;
  /** Proto3 JSON object (original camelCase keys) → message. */
  fromJSON(object: unknown): unknown;
  /** Message → proto3 JSON object with every field present (emitDefaultValues). */
  toJSON(value: unknown): unknown;
}

function codec<T>(name: string, fns: MessageFns<T>): PayloadCodec {
  return {
    name,
    decode: (bytes) => fns.decode(bytes),
    encode: (value) => fns.encode(value as T).finish(),
    fromJSON: (object) => fns.fromJSON(object),
    toJSON: (value) => fns.toJSON(value as T),
  };
}

/**
 * The payload message of every command that has one (command.proto comments, spec §3): the body of
 * C→S frames and the data of S→C frames. One type per command serves both directions (1103, 2104
 * and 1107 carry the same message both ways). Commands missing here have no payload: LOGOUT 9003
 * (body ignored, see IGNORED_BODY_COMMANDS) and SENDMSG 9005 (never implemented, D21).
 */
export const PAYLOAD_TYPES: ReadonlyMap<number, PayloadCodec> = new Map<number, PayloadCodec>([
  // System (spec §3.1).
  [Command.COMMAND_PING, codec("PingPack", envelope.PingPack)],
  [Command.COMMAND_LOGIN, codec("LoginPack", envelope.LoginPack)],
  [Command.COMMAND_LOGIN_ACK, codec("LoginAckPack", envelope.LoginAckPack)],
  [Command.COMMAND_MUTALOGIN, codec("MutaLoginPack", envelope.MutaLoginPack)],
  // The gateway's refusal of a frame, `{code, data, msg, ok:false}` (command.proto, D21, D26).
  [Command.COMMAND_ERROR, codec("ResponseVo", envelope.ResponseVo)],
  // Catching up by cursor over the connection (sync.proto, docs/architecture.md §4 "Sync", D1).
  [Command.COMMAND_SYNC_MESSAGES, codec("SyncMessagesPack", sync.SyncMessagesPack)],
  [Command.COMMAND_SYNC_MESSAGES_ACK, codec("SyncMessagesAckPack", sync.SyncMessagesAckPack)],
  [Command.COMMAND_SYNC_CONVERSATION, codec("SyncConversationPack", sync.SyncConversationPack)],
  [Command.COMMAND_SYNC_CONVERSATION_ACK, codec("SyncConversationAckPack", sync.SyncConversationAckPack)],
  // P2P messaging (spec §3.2).
  [Command.COMMAND_MSG_P2P, codec("MessageContent", message.MessageContent)],
  [Command.COMMAND_MSG_ACK, codec("MessageAck", message.MessageAck)],
  [Command.COMMAND_MSG_RECEIVE_ACK, codec("MessageReceiveAckContent", message.MessageReceiveAckContent)],
  [Command.COMMAND_MSG_READ, codec("MessageReadContent", message.MessageReadContent)],
  [Command.COMMAND_MSG_READ_NOTIFY, codec("MessageReadPack", message.MessageReadPack)],
  [Command.COMMAND_MSG_READ_RECEIPT, codec("MessageReadPack", message.MessageReadPack)],
  [Command.COMMAND_MSG_RECALL, codec("RecallMessageContent", message.RecallMessageContent)],
  [Command.COMMAND_MSG_RECALL_ACK, codec("RecallMessageAck", message.RecallMessageAck)],
  [Command.COMMAND_MSG_RECALL_NOTIFY, codec("RecallMessageNotifyPack", message.RecallMessageNotifyPack)],
  // Groups (spec §3.3).
  [Command.COMMAND_JOIN_GROUP, codec("JoinGroupPack", group.JoinGroupPack)],
  [Command.COMMAND_ADDED_MEMBER, codec("AddGroupMemberPack", group.AddGroupMemberPack)],
  [Command.COMMAND_CREATED_GROUP, codec("CreateGroupPack", group.CreateGroupPack)],
  [Command.COMMAND_UPDATED_GROUP, codec("UpdateGroupInfoPack", group.UpdateGroupInfoPack)],
  [Command.COMMAND_EXIT_GROUP, codec("ExitGroupPack", group.ExitGroupPack)],
  [Command.COMMAND_UPDATED_MEMBER, codec("UpdateGroupMemberPack", group.UpdateGroupMemberPack)],
  [Command.COMMAND_DELETED_MEMBER, codec("RemoveGroupMemberPack", group.RemoveGroupMemberPack)],
  [Command.COMMAND_DESTROY_GROUP, codec("DestroyGroupPack", group.DestroyGroupPack)],
  [Command.COMMAND_TRANSFER_GROUP, codec("TransferGroupPack", group.TransferGroupPack)],
  [Command.COMMAND_MUTE_GROUP, codec("MuteGroupPack", group.MuteGroupPack)],
  [Command.COMMAND_SPEAK_GROUP_MEMBER, codec("GroupMemberSpeakPack", group.GroupMemberSpeakPack)],
  [Command.COMMAND_MSG_GROUP, codec("GroupChatMessageContent", message.GroupChatMessageContent)],
  [Command.COMMAND_MSG_GROUP_READ, codec("MessageReadContent", message.MessageReadContent)],
  [Command.COMMAND_MSG_GROUP_READ_NOTIFY, codec("MessageReadPack", message.MessageReadPack)],
  [Command.COMMAND_MSG_GROUP_READ_RECEIPT, codec("MessageReadPack", message.MessageReadPack)],
  [Command.COMMAND_GROUP_MSG_ACK, codec("MessageAck", message.MessageAck)],
  // Friendships (spec §3.4).
  [Command.COMMAND_FRIEND_ADD, codec("AddFriendPack", friendship.AddFriendPack)],
  [Command.COMMAND_FRIEND_UPDATE, codec("UpdateFriendPack", friendship.UpdateFriendPack)],
  [Command.COMMAND_FRIEND_DELETE, codec("DeleteFriendPack", friendship.DeleteFriendPack)],
  [Command.COMMAND_FRIEND_REQUEST, codec("FriendRequestPack", friendship.FriendRequestPack)],
  [
    Command.COMMAND_FRIEND_REQUEST_READ,
    codec("ReadAllFriendRequestPack", friendship.ReadAllFriendRequestPack),
  ],
  [
    Command.COMMAND_FRIEND_REQUEST_APPROVER,
    codec("ApproveFriendRequestPack", friendship.ApproveFriendRequestPack),
  ],
  [Command.COMMAND_FRIEND_BLACK_ADD, codec("AddFriendBlackPack", friendship.AddFriendBlackPack)],
  [Command.COMMAND_FRIEND_BLACK_DELETE, codec("DeleteBlackPack", friendship.DeleteBlackPack)],
  [Command.COMMAND_FRIEND_GROUP_ADD, codec("AddFriendGroupPack", friendship.AddFriendGroupPack)],
  [Command.COMMAND_FRIEND_GROUP_DELETE, codec("DeleteFriendGroupPack", friendship.DeleteFriendGroupPack)],
  [
    Command.COMMAND_FRIEND_GROUP_MEMBER_ADD,
    codec("AddFriendGroupMemberPack", friendship.AddFriendGroupMemberPack),
  ],
  [
    Command.COMMAND_FRIEND_GROUP_MEMBER_DELETE,
    codec("DeleteFriendGroupMemberPack", friendship.DeleteFriendGroupMemberPack),
  ],
  [Command.COMMAND_FRIEND_ALL_DELETE, codec("DeleteAllFriendPack", friendship.DeleteAllFriendPack)],
  // Users (spec §3.5).
  [Command.COMMAND_USER_MODIFY, codec("UserModifyPack", user.UserModifyPack)],
  [
    Command.COMMAND_USER_ONLINE_STATUS_CHANGE,
    codec("UserStatusChangeNotifyPack", user.UserStatusChangeNotifyPack),
  ],
  [
    Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY,
    codec("UserStatusChangeNotifyPack", user.UserStatusChangeNotifyPack),
  ],
  [
    Command.COMMAND_USER_ONLINE_STATUS_CHANGE_NOTIFY_SYNC,
    codec("UserStatusChangeNotifyPack", user.UserStatusChangeNotifyPack),
  ],
  // Conversations (spec §3.6).
  [Command.COMMAND_CONVERSATION_DELETE, codec("DeleteConversationPack", conversation.DeleteConversationPack)],
  [Command.COMMAND_CONVERSATION_UPDATE, codec("UpdateConversationPack", conversation.UpdateConversationPack)],
]);

/** Commands whose body the server ignores whatever it holds (spec §3.1: LOGOUT). */
export const IGNORED_BODY_COMMANDS: ReadonlySet<number> = new Set([Command.COMMAND_LOGOUT]);

/** The payload codec of `command`, or undefined when the command has no payload message. */
export function payloadTypeOf(command: number): PayloadCodec | undefined {
  return PAYLOAD_TYPES.get(command);
}
