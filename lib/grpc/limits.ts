import { type ErrorName, ImError } from "../errors/index.js";

/**
 * The most items every repeated field of a request may hold (issue 13 item 3), checked by
 * lib/grpc/serve.ts for every call before authentication and before the handler, so that no
 * caller makes a process decode, look up or write an unbounded list while everybody else waits
 * (GetUserInfo with 200,000 ids, AddGroupMembers with 10,000 members).
 *
 * Where the original had a bound it is kept, with its code: 100 imported users (20000) and
 * friendships (30000) (spec §6.3 #1, #8); the original's other lists (`maxLimit` pages,
 * friendShipMaxCount, joinGroupMaxCount) were 100 too, so lists of ids are 100 here. Group
 * members are 500 a call to AddGroupMembers and ImportGroupMembers, which add them in short
 * transactions (services/domain/group-member/chunks.ts); CreateGroup adds its members in one
 * transaction, so it takes 100 and a bigger group grows by AddGroupMembers. The gateway's send
 * batches stay under ChatService's 1 000.
 *
 * Keyed by `Service/Method` and the proto field name, which is what a refusal names:
 * `90001 参数校验错误: user_ids holds at most 100 items, got 200000`. A test
 * (limits.test.ts) checks that every repeated field of every request in the contracts is here.
 */
export const REQUEST_LIST_LIMITS: Readonly<Record<string, Readonly<Record<string, ListLimit>>>> = {
  "ChatService/SendMessages": { items: { max: 1_000 } }, // = MAX_SEND_BATCH of the domain's ChatService
  "FriendGroupService/AddFriendGroup": { to_ids: { max: 100 } },
  "FriendGroupService/AddFriendGroupMembers": { to_ids: { max: 100 } },
  "FriendGroupService/DeleteFriendGroupMembers": { to_ids: { max: 100 } },
  "FriendGroupService/DeleteFriendGroups": { group_name: { max: 100 } },
  "FriendRequestService/ReadFriendRequests": { ids: { max: 100 } },
  "FriendshipService/CheckBlack": { to_ids: { max: 100 } },
  "FriendshipService/CheckFriend": { to_ids: { max: 100 } },
  "FriendshipService/ImportFriendships": {
    friend_item: { max: 100, error: "FRIENDSHIP_IMPORT_SIZE_BEYOND" },
  },
  "GroupMemberService/AddGroupMembers": { members: { max: 500 } },
  "GroupMemberService/ImportGroupMembers": { members: { max: 500 } },
  "GroupService/CreateGroup": { member: { max: 100 } }, // one transaction: a bigger group grows by AddGroupMembers
  "GroupService/GetJoinedGroups": { group_type: { max: 10 } },
  "HistoryService/BatchSyncMessage": { conversations: { max: 100 } }, // the original's numbering, as below
  "HistoryService/BatchSyncMessages": { conversations: { max: 100 } },
  "PresenceService/QueryPresence": { user_ids: { max: 100 } },
  "RouteService/GetGatewayAddress": { avoid: { max: 16 } }, // the endpoints a device could not reach
  "PresenceService/Subscribe": { user_ids: { max: 100 } },
  "PresenceService/Unsubscribe": { user_ids: { max: 100 } },
  "UserService/DeleteUsers": { user_id: { max: 100 } },
  "UserService/GetUserInfo": { user_ids: { max: 100 } },
  "UserService/ImportUsers": { user_data: { max: 100, error: "USER_IMPORT_SIZE_BEYOND" } },
};

/** The bound of one repeated field. */
export interface ListLimit {
  /** Most items. */
  readonly max: number;
  /** The refusal's code (default PARAMETER_ERROR 90001; the original's own code where it had one). */
  readonly error?: ErrorName;
}

interface Bound {
  /** The proto field name, as refusals name it. */
  field: string;
  /** The ts-proto property holding it (lowerCamelCase). */
  property: string;
  max: number;
  error: ErrorName;
}

/** ts-proto's property name of a proto field (`user_ids` → `userIds`). */
export function propertyOf(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** ts-proto's handler key of a proto method (`GetUserInfo` → `getUserInfo`). */
function handlerKey(method: string): string {
  return method.charAt(0).toLowerCase() + method.slice(1);
}

/** By `<service>/<handler key>`, as lib/grpc/serve.ts knows a call. */
const BY_HANDLER = new Map<string, Bound[]>(
  Object.entries(REQUEST_LIST_LIMITS).map(([path, fields]) => {
    const [service, method] = path.split("/") as [string, string];
    const bounds = Object.entries(fields).map(([field, limit]) => ({
      field,
      property: propertyOf(field),
      max: limit.max,
      error: limit.error ?? "PARAMETER_ERROR",
    }));
    return [`${service}/${handlerKey(method)}`, bounds];
  }),
);

/**
 * Refuses `request` of `service`'s handler `method` (ts-proto key, e.g. `getUserInfo`) when a
 * list holds more than its bound. @throws ImError 90001 (or the original's code) naming the field
 */
export function checkRequestLists(service: string, method: string, request: unknown): void {
  const bounds = BY_HANDLER.get(`${service}/${method}`);
  if (bounds === undefined || typeof request !== "object" || request === null) return;
  for (const b of bounds) {
    const list = (request as Record<string, unknown>)[b.property];
    if (Array.isArray(list) && list.length > b.max) {
      throw ImError.of(b.error, `${b.field} holds at most ${b.max} items, got ${list.length}`);
    }
  }
}

/**
 * What lib/grpc/serve.ts checks of every call before anything else: the caller has not given up
 * (`signal`, deadline.ts) and no list is past its bound. Rejects with the reason.
 */
export function requestAdmitted(
  service: string,
  method: string,
  request: unknown,
  signal: AbortSignal,
): Promise<void> {
  try {
    signal.throwIfAborted();
    checkRequestLists(service, method, request);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}
