import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { ErrorCatalogue, type ErrorName, errorNameOf, isImError } from "../../lib/errors/index.js";
import { errorCodeOf } from "../../lib/grpc/errors.js";
import type { Connection } from "../session/connection.js";

/** A code and its client-safe text, as an error frame or error ACK carries them. */
export interface ErrorInfo {
  code: number;
  msg: string;
}

/** The info of a catalogue entry, with an optional detail appended like ImError does. */
export function errorInfo(name: ErrorName, detail?: string): ErrorInfo {
  const { code, message } = ErrorCatalogue[name];
  return { code, msg: detail === undefined ? message : `${message}: ${detail}` };
}

/** Anything thrown → ErrorInfo: an ImError keeps its code and text, the rest is 90000 (no internals leak). */
export function errorInfoOf(error: unknown): ErrorInfo {
  if (isImError(error)) return { code: error.code, msg: error.message };
  return errorInfo("SYSTEM_ERROR");
}

/**
 * The ErrorInfo of an ErrorCode the domain answered with, and its client-safe text (a failed
 * call's status details, a refused batch item's `msg`); the catalogue's text when it gave none.
 */
export function errorInfoOfCode(code: number, text: string): ErrorInfo {
  return { code, msg: text !== "" ? text : ErrorCatalogue[errorNameOf(code) ?? "SYSTEM_ERROR"].message };
}

/** gRPC statuses that mean "the domain could not be reached in time", not "the domain said no". */
const UNREACHABLE = new Set([1, 4, 14]); // CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE

/**
 * A failed ChatService call → ErrorInfo. A domain answer carries its ErrorCode in the
 * `whaleshark-code` trailer and its client-safe text as status details (common.proto §3). A domain
 * that is down, slow or cancelled gives 71000 SERVER_NOT_AVAILABLE; anything else (UNIMPLEMENTED,
 * INTERNAL without a code) gives 90000. Never the raw status text, which may name hosts.
 */
export function errorInfoOfCall(error: unknown): ErrorInfo {
  const e = error as {
    code?: unknown;
    details?: unknown;
    metadata?: Parameters<typeof errorCodeOf>[0]["metadata"];
  };
  const code = typeof e?.metadata?.get === "function" ? errorCodeOf(e) : undefined;
  // The domain's status details are its client-safe ImError message (lib/grpc/errors.ts).
  if (code !== undefined) return errorInfoOfCode(code, typeof e.details === "string" ? e.details : "");
  if (typeof e?.code === "number" && UNREACHABLE.has(e.code)) {
    return errorInfo("SERVER_NOT_AVAILABLE", "domain unavailable");
  }
  return errorInfo("SYSTEM_ERROR");
}

/**
 * Writes COMMAND_ERROR 9006 (command.proto): a ResponseVo `{code, data:{command, messageId?},
 * msg, ok:false}` answering the refused frame. Whether the connection then closes is the caller's
 * decision (spec rules in dispatch.ts).
 */
export function sendError(conn: Connection, info: ErrorInfo, command: number, messageId?: string): boolean {
  const data: { command: number; messageId?: string } = { command };
  if (messageId !== undefined) data.messageId = messageId;
  const body = { code: info.code, data, msg: info.msg, ok: false };
  return conn.sendData(Command.COMMAND_ERROR, body, errorJson(info, command, messageId));
}

/**
 * `JSON.stringify` of the error frame's data, written out: the same text (key order, escaping,
 * number forms) without building it from the object, since a client sending bad frames in a loop
 * gets one of these per frame. Undefined when a field is not of its declared type (only possible
 * through a cast somewhere), so the caller falls back to JSON.stringify and the text stays exact.
 */
export function errorJson(info: ErrorInfo, command: number, messageId?: string): string | undefined {
  if (typeof info.code !== "number" || typeof info.msg !== "string" || typeof command !== "number") {
    return undefined;
  }
  if (messageId !== undefined && typeof messageId !== "string") return undefined;
  const id = messageId === undefined ? "" : `,"messageId":${JSON.stringify(messageId)}`;
  return `{"code":${jsonNumber(info.code)},"data":{"command":${jsonNumber(command)}${id}},"msg":${JSON.stringify(info.msg)},"ok":false}`;
}

/** A number as JSON.stringify writes it (non-finite numbers become null). */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}
