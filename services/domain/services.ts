import type { Logger } from "pino";
import { ChatServiceService } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { FriendGroupServiceService } from "../../gen/ts/whaleshark/v1/friend_group_service.js";
import { FriendRequestServiceService } from "../../gen/ts/whaleshark/v1/friend_request_service.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { MessageServiceService } from "../../gen/ts/whaleshark/v1/message_service.js";
import { PresenceServiceService } from "../../gen/ts/whaleshark/v1/presence_service.js";
import { RouteServiceService } from "../../gen/ts/whaleshark/v1/route_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import type { AppAuthenticator, InternalAuthenticator } from "../../lib/grpc/auth.js";
import { serveApp, serveInternal } from "../../lib/grpc/serve.js";
import type { MountedService } from "../../lib/grpc/server.js";
import { conversationHandlers } from "./conversation/conversation-service.js";
import type { DomainEnv } from "./core/env.js";
import { friendGroupHandlers } from "./friend-group/friend-group-service.js";
import { friendRequestHandlers } from "./friend-request/friend-request-service.js";
import { friendshipHandlers } from "./friendship/friendship-service.js";
import { groupHandlers } from "./group/group-service.js";
import { groupMemberHandlers } from "./group-member/group-member-service.js";
import { chatServiceHandlers } from "./messaging/chat-service.js";
import { messageServiceHandlers } from "./messaging/message-service.js";
import type { Messaging } from "./messaging/messaging.js";
import type { Presence } from "./presence/presence.js";
import { presenceHandlers } from "./presence/presence-service.js";
import { type RouteServiceDeps, routeServiceHandlers } from "./route/route-service.js";
import { userHandlers } from "./users/user-service.js";

/** What the domain's handlers are built from. */
export interface DomainWiring {
  env: DomainEnv;
  appAuth: AppAuthenticator;
  /** Guards the internal ChatService (gateway calls); mounted by the messaging work. */
  internalAuth: InternalAuthenticator;
  logger: Logger;
  /** The messaging core (messaging/messaging.ts); without it ChatService and MessageService answer UNIMPLEMENTED. */
  messaging?: Messaging;
  /** Live gateways and the route model for RouteService; without them it answers UNIMPLEMENTED. */
  routes?: RouteServiceDeps;
  /** Online status (presence/presence.ts); without it PresenceService answers UNIMPLEMENTED. */
  presence?: Presence;
}

/**
 * The gRPC services the domain role serves (docs/architecture.md §2: business rules,
 * messaging, routing). Every app-facing call is authenticated
 * (lib/grpc/auth.ts); a method without a handler answers UNIMPLEMENTED.
 * Without `wiring` every service is mounted with no handlers (contract
 * checks, health and reflection only).
 */
export function domainServices(wiring?: DomainWiring): MountedService[] {
  const app = <D extends Parameters<typeof serveApp>[1]>(
    name: string,
    definition: D,
    handlers: (env: DomainEnv) => Parameters<typeof serveApp<D>>[2],
  ): MountedService => ({
    name: `whaleshark.v1.${name}`,
    definition,
    handlers:
      wiring === undefined
        ? {}
        : serveApp(name, definition, handlers(wiring.env), { auth: wiring.appAuth, logger: wiring.logger }),
  });
  return [
    app("UserService", UserServiceService, userHandlers),
    app("FriendshipService", FriendshipServiceService, friendshipHandlers),
    app("FriendRequestService", FriendRequestServiceService, friendRequestHandlers),
    app("FriendGroupService", FriendGroupServiceService, friendGroupHandlers),
    app("GroupService", GroupServiceService, groupHandlers),
    app("GroupMemberService", GroupMemberServiceService, groupMemberHandlers),
    app("ConversationService", ConversationServiceService, conversationHandlers),
    app("MessageService", MessageServiceService, (env) =>
      wiring?.messaging === undefined ? {} : messageServiceHandlers(wiring.messaging, env.db),
    ),
    {
      name: "whaleshark.v1.ChatService",
      definition: ChatServiceService,
      handlers:
        wiring?.messaging === undefined
          ? {}
          : serveInternal("ChatService", ChatServiceService, chatServiceHandlers(wiring.messaging), {
              auth: wiring.internalAuth,
              logger: wiring.logger,
            }),
    },
    app("RouteService", RouteServiceService, () =>
      wiring?.routes === undefined ? {} : routeServiceHandlers(wiring.routes),
    ),
    app("PresenceService", PresenceServiceService, () =>
      wiring?.presence === undefined ? {} : presenceHandlers(wiring.presence),
    ),
  ];
}
