import { GrpcStatus } from "./grpc-status.js";

/** One catalogue entry: the ResponseVO code, the gRPC status it maps to, and the original message. */
export interface ErrorSpec {
  /** WhaleShark code, equal to the original's (spec §10.1); never reused once retired. */
  readonly code: number;
  /** gRPC status used when the error crosses a gRPC boundary. */
  readonly grpc: GrpcStatus;
  /** The original's message text (Chinese), kept for wire compatibility with its clients. */
  readonly message: string;
}

/**
 * Every error code of spec §10.1, keyed by name. The proto `ErrorCode` enum uses the same names with
 * an `ERROR_CODE_` prefix. Names follow the original constants (typos such as FORBIBBEN, DESTORY,
 * OPERATER and NOT_MATE included, so they can be searched in its source); the two IMPORT_SIZE_BEYOND
 * constants get USER_/FRIENDSHIP_ prefixes and 500 is named INTERNAL_ERROR.
 *
 * gRPC mapping rules: *_NOT_EXIST → NOT_FOUND; *_IS_EXIST / already joined / already friends →
 * ALREADY_EXISTS; role and ownership checks → PERMISSION_DENIED; state that forbids the action
 * (muted, destroyed, not friends) → FAILED_PRECONDITION; a full group → RESOURCE_EXHAUSTED; a request
 * that can never succeed as sent (import too large, bad parameters) → INVALID_ARGUMENT; failed
 * writes → INTERNAL; signing errors → UNAUTHENTICATED.
 */
export const ErrorCatalogue = {
  // 200 / 500: ResponseVO success and its generic failure (ResponseVO.errorResponse, spec §6.1).
  SUCCESS: { code: 200, grpc: GrpcStatus.OK, message: "success" },
  INTERNAL_ERROR: { code: 500, grpc: GrpcStatus.INTERNAL, message: "系统内部异常" },
  // 2xxxx users (UserErrorCode).
  USER_IMPORT_SIZE_BEYOND: { code: 20000, grpc: GrpcStatus.INVALID_ARGUMENT, message: "导入數量超出上限" },
  USER_IS_NOT_EXIST: { code: 20001, grpc: GrpcStatus.NOT_FOUND, message: "用户不存在" },
  SERVER_GET_USER_ERROR: { code: 20002, grpc: GrpcStatus.INTERNAL, message: "服务获取用户失败" },
  MODIFY_USER_ERROR: { code: 20003, grpc: GrpcStatus.INTERNAL, message: "更新用户失败" },
  // WhaleShark's own (the original had no online status): a presence subscription past
  // presence.maxSubscriptions / presence.maxSubscribers (services/domain/presence/subscriptions.ts).
  PRESENCE_LIMIT_EXCEEDED: {
    code: 20004,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    message: "在线状态订阅数量超过上限",
  },
  // 3xxxx friendships, friend requests, friend groups (FriendShipErrorCode). 30013 was never assigned.
  FRIENDSHIP_IMPORT_SIZE_BEYOND: {
    code: 30000,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    message: "导入数量超出上限",
  },
  ADD_FRIEND_ERROR: { code: 30001, grpc: GrpcStatus.INTERNAL, message: "添加好友失败" },
  TO_IS_YOUR_FRIEND: { code: 30002, grpc: GrpcStatus.ALREADY_EXISTS, message: "对方已经是你的好友" },
  TO_IS_NOT_YOUR_FRIEND: { code: 30003, grpc: GrpcStatus.FAILED_PRECONDITION, message: "对方不是你的好友" },
  FRIEND_IS_DELETED: { code: 30004, grpc: GrpcStatus.FAILED_PRECONDITION, message: "好友已被删除" },
  FRIEND_IS_DELETED_YOU: { code: 30005, grpc: GrpcStatus.FAILED_PRECONDITION, message: "你已被对方删除" },
  FRIEND_IS_BLACK: { code: 30006, grpc: GrpcStatus.FAILED_PRECONDITION, message: "好友已被拉黑" },
  TARGET_IS_BLACK_YOU: { code: 30007, grpc: GrpcStatus.PERMISSION_DENIED, message: "对方把你拉黑" },
  REPEATSHIP_IS_NOT_EXIST: { code: 30008, grpc: GrpcStatus.NOT_FOUND, message: "关系链记录不存在" },
  ADD_BLACK_ERROR: { code: 30009, grpc: GrpcStatus.INTERNAL, message: "添加黑名單失败" },
  FRIEND_IS_NOT_YOUR_BLACK: {
    code: 30010,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    message: "好友已經不在你的黑名單内",
  },
  NOT_APPROVER_OTHER_MAN_REQUEST: {
    code: 30011,
    grpc: GrpcStatus.PERMISSION_DENIED,
    message: "无法审批其他人的好友请求",
  },
  FRIEND_REQUEST_IS_NOT_EXIST: { code: 30012, grpc: GrpcStatus.NOT_FOUND, message: "好友申请不存在" },
  FRIEND_SHIP_GROUP_CREATE_ERROR: { code: 30014, grpc: GrpcStatus.INTERNAL, message: "好友分组创建失败" },
  FRIEND_SHIP_GROUP_IS_EXIST: { code: 30015, grpc: GrpcStatus.ALREADY_EXISTS, message: "好友分组已存在" },
  FRIEND_SHIP_GROUP_IS_NOT_EXIST: { code: 30016, grpc: GrpcStatus.NOT_FOUND, message: "好友分组不存在" },
  // 4xxxx groups (GroupErrorCode).
  GROUP_IS_NOT_EXIST: { code: 40000, grpc: GrpcStatus.NOT_FOUND, message: "群不存在" },
  GROUP_IS_EXIST: { code: 40001, grpc: GrpcStatus.ALREADY_EXISTS, message: "群已存在" },
  GROUP_IS_HAVE_OWNER: { code: 40002, grpc: GrpcStatus.FAILED_PRECONDITION, message: "群已存在群主" },
  USER_IS_JOINED_GROUP: { code: 40003, grpc: GrpcStatus.ALREADY_EXISTS, message: "该用户已经进入该群" },
  USER_JOIN_GROUP_ERROR: { code: 40004, grpc: GrpcStatus.INTERNAL, message: "群成员添加失败" },
  GROUP_MEMBER_IS_BEYOND: { code: 40005, grpc: GrpcStatus.RESOURCE_EXHAUSTED, message: "群成员已达到上限" },
  MEMBER_IS_NOT_JOINED_GROUP: {
    code: 40006,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    message: "该用户不在群内",
  },
  THIS_OPERATE_NEED_MANAGER_ROLE: {
    code: 40007,
    grpc: GrpcStatus.PERMISSION_DENIED,
    message: "该操作只允许群主/管理员操作",
  },
  THIS_OPERATE_NEED_APPMANAGER_ROLE: {
    code: 40008,
    grpc: GrpcStatus.PERMISSION_DENIED,
    message: "该操作只允许APP管理员操作",
  },
  THIS_OPERATE_NEED_OWNER_ROLE: {
    code: 40009,
    grpc: GrpcStatus.PERMISSION_DENIED,
    message: "该操作只允许群主操作",
  },
  GROUP_OWNER_IS_NOT_REMOVE: { code: 40010, grpc: GrpcStatus.FAILED_PRECONDITION, message: "群主无法移除" },
  UPDATE_GROUP_BASE_INFO_ERROR: { code: 40011, grpc: GrpcStatus.INTERNAL, message: "更新群信息失败" },
  THIS_GROUP_IS_MUTE: { code: 40012, grpc: GrpcStatus.FAILED_PRECONDITION, message: "该群禁止发言" },
  IMPORT_GROUP_ERROR: { code: 40013, grpc: GrpcStatus.INTERNAL, message: "导入群组失败" },
  THIS_OPERATE_NEED_ONESELF: {
    code: 40014,
    grpc: GrpcStatus.PERMISSION_DENIED,
    message: "该操作只允许自己操作",
  },
  PRIVATE_GROUP_CAN_NOT_DESTORY: {
    code: 40015,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    message: "私有群不允许解散",
  },
  PUBLIC_GROUP_MUST_HAVE_OWNER: {
    code: 40016,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    message: "公开群必须指定群主",
  },
  GROUP_MEMBER_IS_SPEAK: { code: 40017, grpc: GrpcStatus.FAILED_PRECONDITION, message: "群成员被禁言" },
  GROUP_IS_DESTROY: { code: 40018, grpc: GrpcStatus.FAILED_PRECONDITION, message: "群组已解散" },
  // WhaleShark's (issue 16: joining groups; the original had no join requests).
  GROUP_FORBID_APPLY: { code: 40019, grpc: GrpcStatus.PERMISSION_DENIED, message: "该群不允许申请加入" },
  JOIN_REQUEST_IS_NOT_EXIST: { code: 40020, grpc: GrpcStatus.NOT_FOUND, message: "入群申请不存在" },
  // WhaleShark's (issue 16: group privateChat, never enforced by the original, D33).
  GROUP_FORBID_PRIVATE_CHAT: { code: 40021, grpc: GrpcStatus.PERMISSION_DENIED, message: "该群禁止成员私聊" },
  // 50000-50001 conversations (ConversationErrorCode); 50002-52001 messages (MessageErrorCode).
  // The original gave MESSAGEBODY_IS_NOT_EXIST the same 50003 as FROMER_IS_FORBIBBEN and never used it;
  // it moves to 50006 so every code is unique, and 50003 keeps its used meaning (sender disabled).
  CONVERSATION_UPDATE_PARAM_ERROR: {
    code: 50000,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    message: "会话参数修改错误",
  },
  CONVERSATION_CREATE_FAIL: { code: 50001, grpc: GrpcStatus.INTERNAL, message: "会话创建失败" },
  FROMER_IS_MUTE: { code: 50002, grpc: GrpcStatus.FAILED_PRECONDITION, message: "发送方被禁言" },
  FROMER_IS_FORBIBBEN: { code: 50003, grpc: GrpcStatus.PERMISSION_DENIED, message: "发送方被禁用" },
  MESSAGE_RECALL_TIME_OUT: {
    code: 50004,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    message: "消息已超过可撤回时间",
  },
  MESSAGE_IS_RECALLED: { code: 50005, grpc: GrpcStatus.FAILED_PRECONDITION, message: "消息已被撤回" },
  MESSAGEBODY_IS_NOT_EXIST: { code: 50006, grpc: GrpcStatus.NOT_FOUND, message: "消息体不存在" },
  MESSAGEBODY_PERSISTENCE_ERROR: { code: 51001, grpc: GrpcStatus.INTERNAL, message: "消息体持久化失败" },
  MESSAGEHISTORY_PERSISTENCE_ERROR: { code: 51002, grpc: GrpcStatus.INTERNAL, message: "历史消息持久化失败" },
  MESSAGE_CACHE_EXPIRE: { code: 52001, grpc: GrpcStatus.NOT_FOUND, message: "消息缓存已过期" },
  // 6xxxx request signing at the gateway / API edge (GateWayErrorCode, spec §6.2).
  USERSIGN_NOT_EXIST: { code: 60000, grpc: GrpcStatus.UNAUTHENTICATED, message: "用户签名不存在" },
  APPID_NOT_EXIST: { code: 60001, grpc: GrpcStatus.UNAUTHENTICATED, message: "appId不存在" },
  OPERATER_NOT_EXIST: { code: 60002, grpc: GrpcStatus.UNAUTHENTICATED, message: "操作人不存在" },
  USERSIGN_IS_ERROR: { code: 60003, grpc: GrpcStatus.UNAUTHENTICATED, message: "用户签名不正确" },
  USERSIGN_IS_EXPIRED: { code: 60004, grpc: GrpcStatus.UNAUTHENTICATED, message: "用户签名已过期" },
  USERSIGN_OPERATE_NOT_MATE: {
    code: 60005,
    grpc: GrpcStatus.UNAUTHENTICATED,
    message: "用户签名与操作人不匹配",
  },
  // WhaleShark's own (the original had no rate limit): a send over the gateway's per-connection or
  // per-user rate (gateway.sendRate*, gateway/commands/send-rate.ts), or shed because the gateway's
  // sends wait too long for the domain (gateway.shedSends*, send-load.ts, text "… (server busy)");
  // the ACK carries retryAfterMs. Retryable: nothing was stored.
  SEND_RATE_EXCEEDED: {
    code: 60006,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    message: "发送过于频繁,请稍后再试",
  },
  // 7xxxx routing: no gateway node available (UserErrorCode.SERVER_NOT_AVAILABLE, spec §4.6).
  SERVER_NOT_AVAILABLE: { code: 71000, grpc: GrpcStatus.UNAVAILABLE, message: "没有可用的服务" },
  // 9xxxx system (BaseErrorCode).
  SYSTEM_ERROR: { code: 90000, grpc: GrpcStatus.INTERNAL, message: "服务器内部错误,请联系管理员" },
  PARAMETER_ERROR: { code: 90001, grpc: GrpcStatus.INVALID_ARGUMENT, message: "参数校验错误" },
} as const satisfies Record<string, ErrorSpec>;

/** The name of a catalogue entry, e.g. "USER_IS_NOT_EXIST". */
export type ErrorName = keyof typeof ErrorCatalogue;

/** Every catalogue name, in code order. */
export const ERROR_NAMES = Object.keys(ErrorCatalogue) as ErrorName[];

/**
 * The written code ranges (docs/style.md §10): every code lies in exactly one. New codes go into the range
 * of their area and take a number never used before.
 */
export const CODE_RANGES = [
  { area: "success", from: 200, to: 200 },
  { area: "generic failure", from: 500, to: 500 },
  { area: "user", from: 20000, to: 29999 },
  { area: "friendship", from: 30000, to: 39999 },
  { area: "group", from: 40000, to: 49999 },
  { area: "conversation and message", from: 50000, to: 59999 },
  { area: "signing and gateway", from: 60000, to: 69999 },
  { area: "routing", from: 70000, to: 79999 },
  { area: "system", from: 90000, to: 99999 },
] as const;

const BY_CODE = new Map<number, ErrorName>(ERROR_NAMES.map((name) => [ErrorCatalogue[name].code, name]));

/** The catalogue name for a code, or undefined for a code we never issued (e.g. from a newer peer). */
export function errorNameOf(code: number): ErrorName | undefined {
  return BY_CODE.get(code);
}
