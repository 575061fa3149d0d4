import type { PresenceServiceService } from "../../../gen/ts/whaleshark/v1/presence_service.js";
import { ImError } from "../../../lib/errors/index.js";
import type { AppHandlers } from "../../../lib/grpc/serve.js";
import { longerThan } from "../../../lib/grpc/text-check.js";
import { CUSTOM_STATUS_MAX_CHARS, writeCustomStatus } from "../../../lib/presence/presence-keys.js";
import { ownerOrAdmin } from "../core/guards.js";
import type { Presence } from "./presence.js";
import { queryPresence } from "./presence-state.js";
import { subscribe, unsubscribe } from "./subscriptions.js";

/** Longest user id (the user id columns are VARCHAR(50)). */
const MAX_USER_ID_CHARS = 50;

/** The distinct ids of a list, in order. @throws ImError 90001 for an empty or too long one */
function userIds(ids: readonly string[], field: string): string[] {
  if (ids.some((id) => id.trim() === "")) throw ImError.of("PARAMETER_ERROR", `${field} holds an empty id`);
  if (ids.some((id) => longerThan(id, MAX_USER_ID_CHARS))) {
    throw ImError.of("PARAMETER_ERROR", `${field} holds an id longer than ${MAX_USER_ID_CHARS} characters`);
  }
  return [...new Set(ids)];
}

/**
 * PresenceService (presence_service.proto). A user acts for themself (from_id / user_id empty or
 * the operator); an app admin for anyone (core/guards.ts ownerOrAdmin). Queries are open to every
 * user of the app, as profiles are (UserService.GetUserInfo).
 */
export function presenceHandlers(presence: Presence): AppHandlers<typeof PresenceServiceService> {
  const kv = presence.kv;
  const s = presence.settings;
  return {
    async queryPresence(req, ctx) {
      const ids = userIds(req.userIds, "user_ids");
      return { users: await queryPresence(kv, ctx.appId, ids, presence.now(), s.onlineWindowMs) };
    },

    async subscribe(req, ctx) {
      const subscriber = await ownerOrAdmin(ctx, req.fromId);
      const ids = userIds(req.userIds, "user_ids");
      if (ids.includes(subscriber))
        throw ImError.of("PARAMETER_ERROR", "user_ids holds the subscriber itself");
      const ttlMs = req.ttlSeconds === 0 ? s.defaultSubscriptionTtlMs : req.ttlSeconds * 1000;
      if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > s.maxSubscriptionTtlMs) {
        throw ImError.of(
          "PARAMETER_ERROR",
          `ttl_seconds must be 1 to ${Math.floor(s.maxSubscriptionTtlMs / 1000)}, got ${req.ttlSeconds}`,
        );
      }
      const now = presence.now();
      const end = now + ttlMs;
      if (ids.length > 0) await subscribe(kv, ctx.appId, subscriber, ids, end, now, s);
      return {
        users: await queryPresence(kv, ctx.appId, ids, now, s.onlineWindowMs),
        expireTime: end,
      };
    },

    async unsubscribe(req, ctx) {
      const subscriber = await ownerOrAdmin(ctx, req.fromId);
      await unsubscribe(kv, ctx.appId, subscriber, userIds(req.userIds, "user_ids"));
      return {};
    },

    async setCustomStatus(req, ctx) {
      const userId = await ownerOrAdmin(ctx, req.userId);
      if (longerThan(req.customStatus, CUSTOM_STATUS_MAX_CHARS)) {
        throw ImError.of(
          "PARAMETER_ERROR",
          `custom_status is longer than ${CUSTOM_STATUS_MAX_CHARS} characters`,
        );
      }
      // The calling device is named in the pushes (and skipped by 4005) when the caller is the user.
      const device = userId === ctx.operator ? ctx.device : { clientType: 0, imei: "" };
      await writeCustomStatus(kv, ctx.appId, userId, { text: req.customStatus, ...device });
      await presence.changed(ctx.appId, userId);
      return {};
    },
  };
}
