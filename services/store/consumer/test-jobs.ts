import { StoreGroupMessageJob, StoreP2PMessageJob } from "../../../gen/ts/whaleshark/v1/store_job.js";

/** Fields of a test message; the rest get defaults. */
export interface TestMessage {
  key: number;
  seq: number;
  from: string;
  to: string;
  appId?: number;
  messageId?: string;
  body?: string;
}

/** An encoded StoreP2PMessageJob (tests and bench). */
export function p2pJob(m: TestMessage): Uint8Array {
  return StoreP2PMessageJob.encode({
    message: {
      appId: m.appId ?? 10001,
      clientType: 1,
      imei: "web",
      extra: "",
      fromId: m.from,
      toId: m.to,
      messageBody: m.body ?? `p2p ${m.key}`,
      messageId: m.messageId ?? `mid-${m.key}`,
      messageKey: m.key,
      messageSequence: m.seq,
      messageTime: 1_700_000_000_000 + m.key,
    },
    acceptedTime: 1_700_000_000_500 + m.key,
  }).finish();
}

/** An encoded StoreGroupMessageJob; `to` is the group id (tests and bench). */
export function groupJob(m: TestMessage): Uint8Array {
  return StoreGroupMessageJob.encode({
    message: {
      appId: m.appId ?? 10001,
      clientType: 1,
      imei: "web",
      extra: "",
      fromId: m.from,
      groupId: m.to,
      toId: "",
      memberIds: [],
      messageBody: m.body ?? `group ${m.key}`,
      messageId: m.messageId ?? `mid-${m.key}`,
      messageKey: m.key,
      messageSequence: m.seq,
      messageTime: 1_700_000_000_000 + m.key,
    },
    acceptedTime: 1_700_000_000_500 + m.key,
  }).finish();
}
