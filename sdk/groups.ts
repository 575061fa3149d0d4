import type { HttpApi } from "./http-api.js";

/** A pending (or decided) request to join a group. */
export interface JoinRequest {
  groupId: string;
  applicantId: string;
  remark: string;
  /** "pending", "approved" or "rejected" (JoinRequestStatus). */
  status: "pending" | "approved" | "rejected" | "unknown";
  /** Who approved or rejected it ("" while pending). */
  handledBy: string;
  createTime: number;
}

/** JoinRequestStatus as proto-JSON writes it: a number or the enum's name. */
function statusOf(value: unknown): JoinRequest["status"] {
  const text = String(value ?? "PENDING").toUpperCase();
  if (text === "0" || text.endsWith("PENDING")) return "pending";
  if (text === "1" || text.endsWith("APPROVED")) return "approved";
  if (text === "2" || text.endsWith("REJECTED")) return "rejected";
  return "unknown";
}

function requireId(name: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 50) {
    throw new Error(`${name} must be 1 to 50 characters`);
  }
}

/**
 * Asks to join a group (GroupMemberService.ApplyJoinGroup). Resolves `{joined: true}` when the
 * group is free to join (the user is a member now), `{joined: false}` when the request waits for
 * the owner or a manager (they get JOIN_GROUP 2000). Rejects with ApiError: 40019 (the group
 * takes no requests), 40003 (already a member), 40005 (full), 40000 (no such group).
 */
export async function applyJoinGroup(
  api: HttpApi,
  input: { groupId: string; remark?: string },
): Promise<{ joined: boolean }> {
  requireId("groupId", input.groupId);
  if ((input.remark ?? "").length > 200) throw new Error("remark must be at most 200 characters");
  const res = await api.call<{ joined?: boolean }>("GroupMemberService", "ApplyJoinGroup", {
    groupId: input.groupId,
    remark: input.remark ?? "",
  });
  return { joined: res.joined === true };
}

/** A group's pending join requests, oldest first (owner, managers, app admins; else 40007). */
export async function getJoinRequests(
  api: HttpApi,
  input: { groupId: string; maxLimit?: number },
): Promise<JoinRequest[]> {
  requireId("groupId", input.groupId);
  const res = await api.call<{ requests?: Record<string, unknown>[] }>(
    "GroupMemberService",
    "GetJoinRequests",
    {
      groupId: input.groupId,
      maxLimit: input.maxLimit ?? 100,
    },
  );
  return (res.requests ?? []).map((r) => ({
    groupId: String(r.groupId ?? ""),
    applicantId: String(r.applicantId ?? ""),
    remark: String(r.remark ?? ""),
    status: statusOf(r.status),
    handledBy: String(r.handledBy ?? ""),
    createTime: Number(r.createTime ?? 0),
  }));
}

/**
 * Approves or rejects a pending request (owner, manager or app admin). Approved: the applicant
 * joins (40005 when the group is full; the request stays pending). Rejects with 40020 when that
 * applicant has no pending request.
 */
export async function decideJoinRequest(
  api: HttpApi,
  input: { groupId: string; applicantId: string; approve: boolean },
): Promise<void> {
  requireId("groupId", input.groupId);
  requireId("applicantId", input.applicantId);
  await api.call("GroupMemberService", "DecideJoinRequest", {
    groupId: input.groupId,
    applicantId: input.applicantId,
    approve: input.approve,
  });
}
