import type { Logger } from "pino";

/** Identity of one client connection; the user fields are unknown until LOGIN (9000). */
export interface ConnectionIds {
  connId: string;
  appId?: number;
  userId?: string;
  clientType?: number;
  imei?: string;
}

/**
 * A child logger bound to one connection's ids (docs/style.md §12), so every line about it can be found by
 * connId or by user. Make a new one after LOGIN rather than mutating bindings.
 */
export function connectionLogger(parent: Logger, ids: ConnectionIds): Logger {
  const bindings: Record<string, string | number> = { connId: ids.connId };
  // Leave unknown fields out instead of logging `undefined` keys before login.
  if (ids.appId !== undefined) bindings.appId = ids.appId;
  if (ids.userId !== undefined) bindings.userId = ids.userId;
  if (ids.clientType !== undefined) bindings.clientType = ids.clientType;
  if (ids.imei !== undefined) bindings.imei = ids.imei;
  return parent.child(bindings);
}
