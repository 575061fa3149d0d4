import {
  StoreGroupMessageJob,
  StoreGroupMessageJobs,
  StoreP2PMessageJob,
  StoreP2PMessageJobs,
} from "../../../gen/ts/whaleshark/v1/store_job.js";
import { type ChatConversationType, GROUP, P2P } from "../../../lib/wire/conversation-type.js";

/**
 * One message to store, decoded from either job kind: the shape both writers
 * share. `toId` is the receiver (P2P) or the group id (GROUP), as the
 * `im_message_body.to_id` column.
 */
export interface StoredMessage {
  conversationType: ChatConversationType;
  appId: number;
  messageKey: bigint;
  messageId: string;
  fromId: string;
  toId: string;
  sequence: bigint;
  body: string;
  messageTime: bigint;
  extra: string;
  /** When the domain accepted it (epoch ms): the rows' create_time. */
  acceptedTime: bigint;
}

/**
 * A job that can never be stored as it is (undecodable or incomplete). The
 * consumer fails it at once; the bus retries it and then dead-letters it,
 * where it is counted and can be inspected and replayed (fixes D32: the
 * original logged and dropped such jobs).
 */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

/** Decodes a `store.p2p` bus message of one job. @throws InvalidJobError */
export function decodeP2PJob(bytes: Uint8Array): StoredMessage {
  return p2pMessage(decode(() => StoreP2PMessageJob.decode(bytes)));
}

/** Decodes a `store.group` bus message of one job. @throws InvalidJobError */
export function decodeGroupJob(bytes: Uint8Array): StoredMessage {
  return groupMessage(decode(() => StoreGroupMessageJob.decode(bytes)));
}

/** A job of a bus message: the message to store, or why it cannot be stored. */
export type DecodedJob = StoredMessage | InvalidJobError;

/**
 * Decodes the jobs of one bus message: one job, or with `batch` (the
 * message's `jobs: batch` header, lib/queues/store-queues.ts) several. Each
 * job of a batch is checked on its own, so one incomplete job does not hide
 * the others.
 * @throws InvalidJobError when the message itself cannot be decoded
 */
export function decodeJobs(kind: "p2p" | "group", bytes: Uint8Array, batch: boolean): DecodedJob[] {
  if (!batch) return [kind === "p2p" ? decodeP2PJob(bytes) : decodeGroupJob(bytes)];
  return kind === "p2p"
    ? eachJob(decode(() => StoreP2PMessageJobs.decode(bytes)).jobs, p2pMessage)
    : eachJob(decode(() => StoreGroupMessageJobs.decode(bytes)).jobs, groupMessage);
}

function eachJob<J>(jobs: J[], toMessage: (job: J) => StoredMessage): DecodedJob[] {
  if (jobs.length === 0) throw new InvalidJobError("job batch without jobs");
  return jobs.map((job) => {
    try {
      return toMessage(job);
    } catch (err) {
      if (err instanceof InvalidJobError) return err;
      throw err;
    }
  });
}

function p2pMessage(job: StoreP2PMessageJob): StoredMessage {
  const m = job.message;
  if (m === undefined) throw new InvalidJobError("p2p job without message");
  return check({
    conversationType: P2P,
    appId: m.appId,
    messageKey: toBigInt(m.messageKey),
    messageId: m.messageId,
    fromId: m.fromId,
    toId: m.toId,
    sequence: toBigInt(m.messageSequence),
    body: m.messageBody,
    messageTime: toBigInt(m.messageTime),
    extra: m.extra,
    acceptedTime: acceptedTime(job.acceptedTime),
  });
}

function groupMessage(job: StoreGroupMessageJob): StoredMessage {
  const m = job.message;
  if (m === undefined) throw new InvalidJobError("group job without message");
  return check({
    conversationType: GROUP,
    appId: m.appId,
    messageKey: toBigInt(m.messageKey),
    messageId: m.messageId,
    fromId: m.fromId,
    toId: m.groupId,
    sequence: toBigInt(m.messageSequence),
    body: m.messageBody,
    messageTime: toBigInt(m.messageTime),
    extra: m.extra,
    acceptedTime: acceptedTime(job.acceptedTime),
  });
}

function decode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InvalidJobError(`undecodable job: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A job without its accept time (an older publisher) is stamped on arrival. */
function acceptedTime(ms: number): bigint {
  return ms > 0 ? toBigInt(ms) : BigInt(Date.now());
}

function toBigInt(n: number): bigint {
  return BigInt(Math.trunc(n));
}

/** The fields the unique keys and sync need must be there (D28: message_id required). */
function check(m: StoredMessage): StoredMessage {
  const missing: string[] = [];
  if (m.appId <= 0) missing.push("app_id");
  if (m.messageKey <= 0n) missing.push("message_key");
  if (m.messageId === "") missing.push("message_id");
  if (m.fromId === "") missing.push("from_id");
  if (m.toId === "") missing.push(m.conversationType === P2P ? "to_id" : "group_id");
  if (m.sequence <= 0n) missing.push("message_sequence");
  if (missing.length > 0) {
    throw new InvalidJobError(`job ${m.messageKey} lacks ${missing.join(", ")}`);
  }
  return m;
}
