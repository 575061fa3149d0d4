import type { FriendshipRequest } from "../../../gen/prisma/client.js";
import { FriendRequestPack } from "../../../gen/ts/whaleshark/v1/friendship_pack.js";
import type { FriendRequest } from "../../../gen/ts/whaleshark/v1/model.js";

/** A database row as the contract's FriendRequest. */
export function toFriendRequest(row: FriendshipRequest): FriendRequest {
  return {
    id: Number(row.id),
    appId: row.appId,
    fromId: row.fromId,
    toId: row.toId,
    remark: row.remark ?? "",
    readStatus: row.readStatus,
    addSource: row.addSource ?? "",
    addWording: row.addWording ?? "",
    approveStatus: row.approveStatus,
    createTime: Number(row.createTime ?? 0n),
    updateTime: Number(row.updateTime ?? 0n),
    sequence: Number(row.sequence),
  };
}

/** The 3003 FRIEND_REQUEST body: the whole row (spec §3.4). */
export function toFriendRequestPack(row: FriendshipRequest): FriendRequestPack {
  return FriendRequestPack.fromPartial(toFriendRequest(row));
}
