/**
 * Coverage of the gRPC contracts: every endpoint of the original HTTP API
 * (spec §6.3 #1–#48, message store §5.11 #49–#51) has a method in the
 * whaleshark.v1 services, the ChatService carries the gateway's calls, and
 * the request conventions of proto/whaleshark/v1/common.proto hold.
 *
 * Reads gen/descriptor.binpb, which `npm run gen` builds from proto/.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type AnyDefinition,
  loadFileDescriptorSetFromBuffer,
  type MethodDefinition,
  type PackageDefinition,
  type ServiceDefinition,
} from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";

const PACKAGE = "whaleshark.v1";

/** Original endpoint number → the `Service/Method` that replaces it. */
const ENDPOINTS: ReadonlyArray<{ n: number; path: string; method: string }> = [
  { n: 1, path: "/v1/user/importUser", method: "UserService/ImportUsers" },
  { n: 2, path: "/v1/user/deleteUser", method: "UserService/DeleteUsers" },
  { n: 3, path: "/v1/user/login", method: "RouteService/GetGatewayAddress" },
  { n: 4, path: "/v1/user/getUserSequence", method: "UserService/GetUserSequence" },
  { n: 5, path: "/v1/user/data/getUserInfo", method: "UserService/GetUserInfo" },
  { n: 6, path: "/v1/user/data/getSingleUserInfo", method: "UserService/GetSingleUserInfo" },
  { n: 7, path: "/v1/user/data/modifyUserInfo", method: "UserService/ModifyUserInfo" },
  { n: 8, path: "/v1/friendship/importFriendShip", method: "FriendshipService/ImportFriendships" },
  { n: 9, path: "/v1/friendship/addFriend", method: "FriendshipService/AddFriend" },
  { n: 10, path: "/v1/friendship/updateFriend", method: "FriendshipService/UpdateFriend" },
  { n: 11, path: "/v1/friendship/deleteFriend", method: "FriendshipService/DeleteFriend" },
  { n: 12, path: "/v1/friendship/deleteAllFriend", method: "FriendshipService/DeleteAllFriends" },
  { n: 13, path: "/v1/friendship/getAllFriendShip", method: "FriendshipService/GetAllFriendships" },
  { n: 14, path: "/v1/friendship/getRelation", method: "FriendshipService/GetRelation" },
  { n: 15, path: "/v1/friendship/checkFriend", method: "FriendshipService/CheckFriend" },
  { n: 16, path: "/v1/friendship/addBlack", method: "FriendshipService/AddBlack" },
  { n: 17, path: "/v1/friendship/deleteBlack", method: "FriendshipService/DeleteBlack" },
  { n: 18, path: "/v1/friendship/checkBlck", method: "FriendshipService/CheckBlack" },
  { n: 19, path: "/v1/friendship/syncFriendShipList", method: "FriendshipService/SyncFriendships" },
  {
    n: 20,
    path: "/v1/friendshipRequest/approveFriendRequest",
    method: "FriendRequestService/ApproveFriendRequest",
  },
  { n: 21, path: "/v1/friendshipRequest/getFriendRequest", method: "FriendRequestService/GetFriendRequests" },
  {
    n: 22,
    path: "/v1/friendshipRequest/readFriendShipRequestReq",
    method: "FriendRequestService/ReadFriendRequests",
  },
  { n: 23, path: "/v1/friendship/group/add", method: "FriendGroupService/AddFriendGroup" },
  { n: 24, path: "/v1/friendship/group/del", method: "FriendGroupService/DeleteFriendGroups" },
  { n: 25, path: "/v1/friendship/group/member/add", method: "FriendGroupService/AddFriendGroupMembers" },
  { n: 26, path: "/v1/friendship/group/member/del", method: "FriendGroupService/DeleteFriendGroupMembers" },
  { n: 27, path: "/v1/group/importGroup", method: "GroupService/ImportGroup" },
  { n: 28, path: "/v1/group/createGroup", method: "GroupService/CreateGroup" },
  { n: 29, path: "/v1/group/getGroupInfo", method: "GroupService/GetGroupInfo" },
  { n: 30, path: "/v1/group/update", method: "GroupService/UpdateGroup" },
  { n: 31, path: "/v1/group/getJoinedGroup", method: "GroupService/GetJoinedGroups" },
  { n: 32, path: "/v1/group/destroyGroup", method: "GroupService/DestroyGroup" },
  { n: 33, path: "/v1/group/transferGroup", method: "GroupService/TransferGroup" },
  { n: 34, path: "/v1/group/forbidSendMessage", method: "GroupService/MuteGroup" },
  { n: 35, path: "/v1/group/sendMessage", method: "MessageService/SendGroupMessage" },
  { n: 36, path: "/v1/group/syncJoinedGroup", method: "GroupService/SyncJoinedGroups" },
  { n: 37, path: "/v1/group/member/importGroupMember", method: "GroupMemberService/ImportGroupMembers" },
  { n: 38, path: "/v1/group/member/add", method: "GroupMemberService/AddGroupMembers" },
  { n: 39, path: "/v1/group/member/remove", method: "GroupMemberService/RemoveGroupMember" },
  { n: 40, path: "/v1/group/member/update", method: "GroupMemberService/UpdateGroupMember" },
  { n: 41, path: "/v1/group/member/speak", method: "GroupMemberService/MuteGroupMember" },
  { n: 42, path: "/v1/conversation/deleteConversation", method: "ConversationService/DeleteConversation" },
  { n: 43, path: "/v1/conversation/updateConversation", method: "ConversationService/UpdateConversation" },
  { n: 44, path: "/v1/conversation/syncConversationList", method: "ConversationService/SyncConversations" },
  { n: 45, path: "/v1/message/send", method: "MessageService/SendMessage" },
  { n: 46, path: "/v1/message/p2pCheckSend", method: "MessageService/CheckSend" },
  { n: 47, path: "/v1/message/groupCheckSend", method: "MessageService/CheckSend" },
  { n: 48, path: "/v1/message/syncOfflineMessageList", method: "MessageService/SyncOfflineMessages" },
  { n: 49, path: "/v1/message/syncP2PMessage", method: "HistoryService/SyncP2PMessages" },
  { n: 50, path: "/v1/message/syncGroupMessage", method: "HistoryService/SyncGroupMessages" },
  { n: 51, path: "/v1/message/batchSyncMessage", method: "HistoryService/BatchSyncMessage" }, // 1 P2P, 2 group
];

/** Calls the original lacked (spec §6.3 "Features with no endpoint", §8). */
const ADDITIONS: readonly string[] = [
  "FriendRequestService/SyncFriendRequests",
  "FriendGroupService/ListFriendGroups",
  "FriendGroupService/SyncFriendGroups",
  "GroupMemberService/GetGroupMembers",
  "GroupMemberService/LeaveGroup",
  "ConversationService/MarkRead",
  "MessageService/RecallMessage",
  "HistoryService/SyncDeviceMessages",
  "HistoryService/BatchSyncMessages", // #51 in the contracts' numbering (0 P2P, 1 GROUP)
  "RouteService/ListGateways",
  "UserService/RevokeTokens",
];

/** The gateway's calls for a logged-in connection (docs/architecture.md §2). */
const CHAT_CALLS = [
  "SendP2PMessage",
  "SendGroupMessage",
  "SendMessages",
  "ReceiveAck",
  "MarkRead",
  "RecallMessage",
  "SessionClosed",
];

/** RequestBase, flat at the head of every domain and store request (common.proto §1). */
const REQUEST_BASE = [
  { name: "app_id", number: 1, type: "TYPE_INT32" },
  { name: "operater", number: 2, type: "TYPE_STRING" },
  { name: "client_type", number: 3, type: "TYPE_INT32" },
  { name: "imei", number: 4, type: "TYPE_STRING" },
];

interface FieldShape {
  name: string;
  number: number;
  type: string;
  typeName: string;
}
interface DescriptorShape {
  name: string;
  field: FieldShape[];
}

function isService(def: AnyDefinition): def is ServiceDefinition {
  return !("format" in def);
}

function isDescriptor(value: object): value is DescriptorShape {
  return "name" in value && typeof value.name === "string" && "field" in value && Array.isArray(value.field);
}

function descriptorOf(
  method: MethodDefinition<object, object>,
  side: "request" | "response",
): DescriptorShape {
  const type = side === "request" ? method.requestType.type : method.responseType.type;
  if (!isDescriptor(type)) throw new Error(`${method.path}: ${side} type has no descriptor`);
  return type;
}

function loadServices(): Map<string, ServiceDefinition> {
  const file = fileURLToPath(new URL("../../gen/descriptor.binpb", import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run gen\` first`);
  const definition: PackageDefinition = loadFileDescriptorSetFromBuffer(readFileSync(file));
  const services = new Map<string, ServiceDefinition>();
  for (const [name, def] of Object.entries(definition)) {
    if (isService(def)) services.set(name, def);
  }
  return services;
}

const services = loadServices();

function method(qualified: string): MethodDefinition<object, object> | undefined {
  const [service = "", rpc = ""] = qualified.split("/");
  return services.get(`${PACKAGE}.${service}`)?.[rpc];
}

describe("gRPC contract coverage", () => {
  it("maps each original endpoint #1–#51 exactly once", () => {
    const numbers = ENDPOINTS.map((e) => e.n);
    expect(numbers).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
  });

  it.each(ENDPOINTS)("#$n $path → $method", ({ method: qualified }) => {
    const found = method(qualified);
    expect(found, `${qualified} is not defined`).toBeDefined();
    expect(found?.path).toBe(`/${PACKAGE}.${qualified}`);
  });

  it.each(ADDITIONS)("%s exists", (qualified) => {
    expect(method(qualified), `${qualified} is not defined`).toBeDefined();
  });

  it("gives ChatService exactly the seven gateway calls", () => {
    const chat = services.get(`${PACKAGE}.ChatService`);
    expect(chat).toBeDefined();
    expect(Object.keys(chat ?? {}).sort()).toEqual([...CHAT_CALLS].sort());
  });

  it("puts every service in package whaleshark.v1", () => {
    expect(services.size).toBeGreaterThanOrEqual(11);
    for (const [name, service] of services) {
      expect(name.startsWith(`${PACKAGE}.`), name).toBe(true);
      for (const rpc of Object.values(service)) {
        expect(rpc.path.startsWith(`/${PACKAGE}.`), rpc.path).toBe(true);
      }
    }
  });

  it("gives every RPC its own request and response message", () => {
    const seen = new Set<string>();
    for (const [name, service] of services) {
      const serviceName = name.slice(PACKAGE.length + 1);
      for (const [rpcName, rpc] of Object.entries(service)) {
        for (const side of ["request", "response"] as const) {
          const typeName = descriptorOf(rpc, side).name;
          const suffix = side === "request" ? "Request" : "Response";
          expect([`${rpcName}${suffix}`, `${serviceName}${rpcName}${suffix}`]).toContain(typeName);
          expect(seen.has(typeName), `${typeName} is shared`).toBe(false);
          seen.add(typeName);
        }
      }
    }
  });

  it("starts every domain and store request with the RequestBase fields", () => {
    for (const [name, service] of services) {
      if (name === `${PACKAGE}.ChatService`) continue; // carries a SessionContext instead
      for (const rpc of Object.values(service)) {
        const fields = descriptorOf(rpc, "request").field.map(({ name, number, type }) => ({
          name,
          number,
          type,
        }));
        expect(fields.slice(0, 4), rpc.path).toEqual(REQUEST_BASE);
      }
    }
  });

  it("gives every ChatService request the session, then the command's content", () => {
    for (const [rpcName, rpc] of Object.entries(services.get(`${PACKAGE}.ChatService`) ?? {})) {
      if (rpcName === "SendMessages") {
        // A batch: each item carries its session, then the command's content (1103 or 2104).
        const [items] = descriptorOf(rpc, "request").field;
        expect(items?.name).toBe("items");
        expect(items?.typeName).toBe("ChatServiceSendItem");
        continue;
      }
      const [first, second] = descriptorOf(rpc, "request").field;
      expect(first?.name, rpc.path).toBe("session");
      expect(first?.typeName, rpc.path).toBe("SessionContext");
      expect(second?.name, rpc.path).toBe(rpcName === "SessionClosed" ? "reason" : "content");
    }
  });
});
