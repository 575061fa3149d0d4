import { describe, expect, it } from "vitest";
import { INTERNAL_SERVICES } from "../grpc/server.js";
import { contractRoutes, RouteTable } from "./routes.js";

/** The original's 51 HTTP paths (spec §6.3 #1–#48, §5.11 #49–#51), with POST-only ones marked. */
const ORIGINAL_PATHS: ReadonlyArray<[string, "post" | "any"]> = [
  ["/v1/user/importUser", "any"],
  ["/v1/user/deleteUser", "any"],
  ["/v1/user/login", "any"],
  ["/v1/user/getUserSequence", "any"],
  ["/v1/user/data/getUserInfo", "post"],
  ["/v1/user/data/getSingleUserInfo", "post"],
  ["/v1/user/data/modifyUserInfo", "post"],
  ["/v1/friendship/importFriendShip", "post"],
  ["/v1/friendship/addFriend", "post"],
  ["/v1/friendship/updateFriend", "post"],
  ["/v1/friendship/deleteFriend", "post"],
  ["/v1/friendship/deleteAllFriend", "post"],
  ["/v1/friendship/getAllFriendShip", "post"],
  ["/v1/friendship/getRelation", "post"],
  ["/v1/friendship/checkFriend", "post"],
  ["/v1/friendship/addBlack", "post"],
  ["/v1/friendship/deleteBlack", "post"],
  ["/v1/friendship/checkBlck", "post"],
  ["/v1/friendship/syncFriendShipList", "post"],
  ["/v1/friendshipRequest/approveFriendRequest", "post"],
  ["/v1/friendshipRequest/getFriendRequest", "post"],
  ["/v1/friendshipRequest/readFriendShipRequestReq", "post"],
  ["/v1/friendship/group/add", "any"],
  ["/v1/friendship/group/del", "any"],
  ["/v1/friendship/group/member/add", "any"],
  ["/v1/friendship/group/member/del", "any"],
  ["/v1/group/importGroup", "any"],
  ["/v1/group/createGroup", "any"],
  ["/v1/group/getGroupInfo", "any"],
  ["/v1/group/update", "any"],
  ["/v1/group/getJoinedGroup", "any"],
  ["/v1/group/destroyGroup", "any"],
  ["/v1/group/transferGroup", "any"],
  ["/v1/group/forbidSendMessage", "any"],
  ["/v1/group/sendMessage", "any"],
  ["/v1/group/syncJoinedGroup", "any"],
  ["/v1/group/member/importGroupMember", "any"],
  ["/v1/group/member/add", "any"],
  ["/v1/group/member/remove", "any"],
  ["/v1/group/member/update", "any"],
  ["/v1/group/member/speak", "any"],
  ["/v1/conversation/deleteConversation", "any"],
  ["/v1/conversation/updateConversation", "any"],
  ["/v1/conversation/syncConversationList", "any"],
  ["/v1/message/send", "any"],
  ["/v1/message/p2pCheckSend", "any"],
  ["/v1/message/groupCheckSend", "any"],
  ["/v1/message/syncOfflineMessageList", "any"],
  ["/v1/message/syncP2PMessage", "post"],
  ["/v1/message/syncGroupMessage", "post"],
  ["/v1/message/batchSyncMessage", "post"],
];

/** Paths the contracts declare for what the original lacked (presence_service.proto), POST only. */
const ADDED_PATHS = [
  "/v1/presence/query",
  "/v1/presence/subscribe",
  "/v1/presence/unsubscribe",
  "/v1/presence/setCustomStatus",
];

describe("contract routes (google.api.http on the RPCs)", () => {
  const all = contractRoutes();
  const table = new RouteTable(all);

  it("declare exactly the original's 51 paths, and WhaleShark's own presence paths", () => {
    expect(ORIGINAL_PATHS).toHaveLength(51);
    const declared = new Set(all.filter((r) => r.kind === "original").map((r) => r.path));
    expect([...declared].sort()).toEqual([...ORIGINAL_PATHS.map(([p]) => p), ...ADDED_PATHS].sort());
  });

  it.each(ORIGINAL_PATHS)("%s takes %s", (path, methods) => {
    expect(table.match("POST", path)).toHaveProperty("route");
    const put = table.match("PUT", path);
    if (methods === "any") expect(put).toHaveProperty("route.kind", "original");
    else expect(put).toEqual({ notAllowed: ["POST"] });
  });

  it("map the original's data to the response field it names", () => {
    const data = (path: string) => {
      const m = table.match("POST", path);
      return m !== undefined && "route" in m ? m.route.responseBody?.name : "none";
    };
    expect(data("/v1/friendship/getAllFriendShip")).toBe("friendships");
    expect(data("/v1/user/getUserSequence")).toBe("sequences");
    expect(data("/v1/friendship/group/member/del")).toBe("success_id");
    expect(data("/v1/user/importUser")).toBeUndefined(); // the whole response is the data
  });

  it("give every unary method a Connect route, two original paths to CheckSend", () => {
    const connect = table.match("POST", "/whaleshark.v1.UserService/GetUserInfo");
    expect(connect).toHaveProperty("route.kind", "connect");
    expect(table.match("GET", "/whaleshark.v1.UserService/GetUserInfo")).toEqual({ notAllowed: ["POST"] });
    const grpcPaths = (path: string) => {
      const m = table.match("POST", path);
      return m !== undefined && "route" in m ? m.route.grpcPath : "";
    };
    expect(grpcPaths("/v1/message/p2pCheckSend")).toBe("/whaleshark.v1.MessageService/CheckSend");
    expect(grpcPaths("/v1/message/groupCheckSend")).toBe("/whaleshark.v1.MessageService/CheckSend");
    // The original's numbering (1 P2P, 2 group) has its own RPC; BatchSyncMessages (0 / 1) is Connect only.
    expect(grpcPaths("/v1/message/batchSyncMessage")).toBe("/whaleshark.v1.HistoryService/BatchSyncMessage");
    expect(table.match("POST", "/whaleshark.v1.HistoryService/BatchSyncMessages")).toHaveProperty(
      "route.kind",
      "connect",
    );
    expect(
      all.filter((r) => r.grpcPath === "/whaleshark.v1.HistoryService/BatchSyncMessages").map((r) => r.kind),
    ).toEqual(["connect"]);
  });

  it("serve only the services a server mounts, never the internal ones", () => {
    const store = RouteTable.forServices(["whaleshark.v1.HistoryService"], INTERNAL_SERVICES, all);
    expect(store.match("POST", "/v1/message/batchSyncMessage")).toHaveProperty("route");
    expect(store.match("POST", "/v1/friendship/addFriend")).toBeUndefined();
    const domain = RouteTable.forServices(["whaleshark.v1.ChatService"], INTERNAL_SERVICES, all);
    expect(domain.size).toBe(0);
    expect(table.match("POST", "/v1/nothing")).toBeUndefined();
  });
});
