import { ChatServiceService } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { FriendGroupServiceService } from "../../gen/ts/whaleshark/v1/friend_group_service.js";
import { FriendRequestServiceService } from "../../gen/ts/whaleshark/v1/friend_request_service.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import { MessageServiceService } from "../../gen/ts/whaleshark/v1/message_service.js";
import { PresenceServiceService } from "../../gen/ts/whaleshark/v1/presence_service.js";
import { RouteServiceService } from "../../gen/ts/whaleshark/v1/route_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";

/**
 * Every gRPC service of the contracts (proto/whaleshark/v1), by the name AppClient gives it
 * (`client.users.importUsers(...)`). A service added to the contracts is added here once, and is
 * then typed for every app server.
 */
export const SERVICES = {
  chat: ChatServiceService,
  conversations: ConversationServiceService,
  friendGroups: FriendGroupServiceService,
  friendRequests: FriendRequestServiceService,
  friendships: FriendshipServiceService,
  groupMembers: GroupMemberServiceService,
  groups: GroupServiceService,
  history: HistoryServiceService,
  messages: MessageServiceService,
  presence: PresenceServiceService,
  routes: RouteServiceService,
  users: UserServiceService,
} as const;

export type ServiceName = keyof typeof SERVICES;

/** One unary method of a generated grpc-js service definition (ts-proto `outputServices=grpc-js`). */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Req;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/** Per-call options: a deadline other than the client's, or another retry policy (false: none). */
export interface CallOptions {
  timeoutMs?: number;
  retry?: Partial<RetryPolicy> | false;
}

/** When a failed call is tried again. */
export interface RetryPolicy {
  /** Most attempts in all, the first included (1: no retry). */
  attempts: number;
  /** Wait before the second attempt; doubles each time up to maxMs (±20 % jitter). */
  initialMs: number;
  maxMs: number;
  /** gRPC status codes that are retried (default UNAVAILABLE: the server could not be reached). */
  codes: readonly number[];
}

type Method<M> =
  M extends UnaryMethod<infer Req, infer Res>
    ? (request: Partial<Req>, options?: CallOptions) => Promise<Res>
    : never;

/** The promise-returning methods of one service; requests are partial (left-out fields take defaults). */
export type ServiceCaller<D> = { readonly [K in keyof D]: Method<D[K]> };

/** A caller for every service of {@link SERVICES}. */
export type ServiceCallers = { readonly [K in ServiceName]: ServiceCaller<(typeof SERVICES)[K]> };
