import { ChatServiceService } from "../../gen/ts/whaleshark/v1/chat_service.js";
import { ConversationServiceService } from "../../gen/ts/whaleshark/v1/conversation_service.js";
import { FriendGroupServiceService } from "../../gen/ts/whaleshark/v1/friend_group_service.js";
import { FriendRequestServiceService } from "../../gen/ts/whaleshark/v1/friend_request_service.js";
import { FriendshipServiceService } from "../../gen/ts/whaleshark/v1/friendship_service.js";
import { GroupMemberServiceService } from "../../gen/ts/whaleshark/v1/group_member_service.js";
import { GroupServiceService } from "../../gen/ts/whaleshark/v1/group_service.js";
import { MessageServiceService } from "../../gen/ts/whaleshark/v1/message_service.js";
import { RouteServiceService } from "../../gen/ts/whaleshark/v1/route_service.js";
import { UserServiceService } from "../../gen/ts/whaleshark/v1/user_service.js";
import type { MountedService } from "../../lib/grpc/server.js";

/**
 * The gRPC services the domain role serves (DESIGN.md §2: business rules,
 * messaging, routing). Handlers arrive with the domain and messaging work;
 * until then each method answers UNIMPLEMENTED.
 */
export function domainServices(): MountedService[] {
  return [
    { name: "whaleshark.v1.UserService", definition: UserServiceService, handlers: {} },
    { name: "whaleshark.v1.FriendshipService", definition: FriendshipServiceService, handlers: {} },
    { name: "whaleshark.v1.FriendRequestService", definition: FriendRequestServiceService, handlers: {} },
    { name: "whaleshark.v1.FriendGroupService", definition: FriendGroupServiceService, handlers: {} },
    { name: "whaleshark.v1.GroupService", definition: GroupServiceService, handlers: {} },
    { name: "whaleshark.v1.GroupMemberService", definition: GroupMemberServiceService, handlers: {} },
    { name: "whaleshark.v1.ConversationService", definition: ConversationServiceService, handlers: {} },
    { name: "whaleshark.v1.MessageService", definition: MessageServiceService, handlers: {} },
    { name: "whaleshark.v1.ChatService", definition: ChatServiceService, handlers: {} },
    { name: "whaleshark.v1.RouteService", definition: RouteServiceService, handlers: {} },
  ];
}
