import { ImError } from "../../../lib/errors/index.js";
import { permissionDenied } from "../../../lib/grpc/errors.js";

/** Page size when a request gives none, and the most a page holds (common.proto §4). */
export const MAX_PAGE = 100;

/** The RequestBase fields and the optional `user_id` of a history request. */
export interface HistoryRequestBase {
  appId: number;
  operater: string;
  /** Whose history; "" = the operator. */
  userId?: string;
}

/** Whether a user may read another user's history (an app admin, common.proto §2). */
export type IsAdmin = (appId: number, userId: string) => Promise<boolean>;

/**
 * The user whose history is read, after checking that the operator may read
 * it: a user reads only their own history, an app admin anyone's of the app.
 * Authentication (that `operater` really is the caller) happens before the
 * handlers, at the service edge (common.proto §2).
 * @throws ImError 90001 (app_id or operater missing), 60005 PERMISSION_DENIED
 */
export async function readerOf(req: HistoryRequestBase, isAdmin: IsAdmin): Promise<string> {
  if (!(req.appId > 0)) throw ImError.of("PARAMETER_ERROR", "app_id is required");
  if (req.operater === "") throw ImError.of("PARAMETER_ERROR", "operater is required");
  const user = req.userId === undefined || req.userId === "" ? req.operater : req.userId;
  if (user !== req.operater && !(await isAdmin(req.appId, req.operater))) {
    throw permissionDenied("USERSIGN_OPERATE_NOT_MATE", "a user reads only their own history");
  }
  return user;
}

/** `max_limit` / `max_count` as a page size: 0 → 100, at most 100. @throws ImError 90001 */
export function pageSize(requested: number, field = "max_limit"): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw ImError.of("PARAMETER_ERROR", `${field} must be 0 or positive`);
  }
  return requested === 0 ? MAX_PAGE : Math.min(requested, MAX_PAGE);
}

/** `last_sequence` / `sequence` as an exclusive cursor. @throws ImError 90001 */
export function cursor(value: number, field = "last_sequence"): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw ImError.of("PARAMETER_ERROR", `${field} must be 0 or a positive integer`);
  }
  return BigInt(value);
}
