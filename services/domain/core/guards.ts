import { ImError } from "../../../lib/errors/index.js";
import { permissionDenied } from "../../../lib/grpc/errors.js";
import type { RequestContext } from "../../../lib/grpc/serve.js";

/**
 * Authorization and validation rules shared by the domain services
 * (common.proto §2: "a user may act only on what is theirs, admins what the
 * app allows", D4).
 */

/** The user a request acts on: `id` when given, else the operator. */
export function subject(ctx: RequestContext, id: string): string {
  return id === "" ? ctx.operator : id;
}

/**
 * Resolves the owner of the data a request touches (`from_id`, `user_id`):
 * empty means the operator; anyone else needs an app admin.
 * @throws ImError 60005 PERMISSION_DENIED for another user's data
 */
export async function ownerOrAdmin(ctx: RequestContext, id: string): Promise<string> {
  const owner = subject(ctx, id);
  if (owner !== ctx.operator && !(await ctx.isAdmin())) {
    throw permissionDenied("USERSIGN_OPERATE_NOT_MATE", "not the operator's data");
  }
  return owner;
}

/** @throws ImError 40008 unless the caller is an app admin */
export async function requireAdmin(ctx: RequestContext): Promise<void> {
  if (!(await ctx.isAdmin())) throw ImError.of("THIS_OPERATE_NEED_APPMANAGER_ROLE");
}

/** @throws ImError 90001 naming the field when `value` is empty */
export function required(value: string, field: string): string {
  if (value.trim() === "") throw ImError.of("PARAMETER_ERROR", `${field} is required`);
  return value;
}

/** Page size of list and sync calls: min(limit, 100), 0 or less = 100 (common.proto §4). */
export function pageSize(limit: number): number {
  return limit <= 0 ? 100 : Math.min(limit, 100);
}

/** Big integers of the database as numbers; every such value stays below 2^53 (common.proto §6). */
export function num(value: bigint | number | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}
