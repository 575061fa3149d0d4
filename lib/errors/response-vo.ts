import { ErrorCatalogue } from "./catalogue.js";
import { isImError } from "./im-error.js";

/**
 * The original's HTTP/ACK envelope (spec §6.1, §5.5): `ok` is `code === 200`. Field names and order
 * match the original's JSON.
 */
export interface ResponseVo<T> {
  code: number;
  msg: string;
  data: T | null;
  ok: boolean;
}

/** A success envelope: `{ code: 200, msg: "success", data, ok: true }`. */
export function ok<T>(data: T): ResponseVo<T>;
export function ok(): ResponseVo<null>;
export function ok<T>(data?: T): ResponseVo<T | null> {
  const { code, message } = ErrorCatalogue.SUCCESS;
  return { code, msg: message, data: data ?? null, ok: true };
}

/**
 * A failure envelope. An ImError keeps its code, message and data. Anything else becomes 90000
 * SYSTEM_ERROR with the catalogue text only: an unexpected error's own message may hold internals
 * (SQL, hosts, stack details) and is for logs, never for clients.
 */
export function fail(error: unknown): ResponseVo<unknown> {
  if (isImError(error)) {
    return { code: error.code, msg: error.message, data: error.data ?? null, ok: error.code === 200 };
  }
  const { code, message } = ErrorCatalogue.SYSTEM_ERROR;
  return { code, msg: message, data: null, ok: false };
}
