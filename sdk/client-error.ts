/** Why a client operation failed. */
export const ClientErrorReasons = {
  "not-connected": "the client is not connected and not reconnecting",
  closed: "the client was closed (close, logout, or reconnecting gave up)",
  "connection-lost": "the connection ended before the answer arrived",
  "login-timeout": "no LOGIN_ACK 9001 within loginTimeoutMs",
  "login-refused": "the gateway refused LOGIN with an error frame (9006)",
  kicked: "the device was logged out by a login elsewhere (MUTALOGIN 9002)",
  refused: "the server refused the message (ACK with ok:false, or an error frame)",
  unknown:
    "no answer within resend.maxPendingMs (or maxAttempts writes): the message may have been stored; it is settled by sync or by resending the same messageId",
  "sync-refused": "the gateway could not answer a catch-up request (error frame 9006, e.g. 71000)",
  "sync-timeout": "no answer to a catch-up request within sync.requestTimeoutMs",
  "request-timeout": "no answer to a request (e.g. a recall) within its timeout",
} as const;

/** A catalogued client failure reason. */
export type ClientErrorReason = keyof typeof ClientErrorReasons;

/**
 * The error every client promise rejects with. `code` and `serverMessage` carry the server's
 * ErrorCode and text (spec §10.1) when the server gave one.
 */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly reason: ClientErrorReason;
  /** The server's ErrorCode, e.g. 60003 for a bad userSign; undefined for local failures. */
  readonly code: number | undefined;
  readonly serverMessage: string | undefined;

  constructor(reason: ClientErrorReason, server?: { code: number; msg: string }) {
    super(
      server === undefined
        ? ClientErrorReasons[reason]
        : `${ClientErrorReasons[reason]}: ${server.code} ${server.msg}`,
    );
    this.reason = reason;
    this.code = server?.code;
    this.serverMessage = server?.msg;
  }
}
