import {
  StoreGroupMessageJob,
  StoreGroupMessageJobs,
  StoreP2PMessageJob,
  StoreP2PMessageJobs,
} from "../../../gen/ts/whaleshark/v1/store_job.js";

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
  return StoreP2PMessageJob.encode(p2pJobOf(m)).finish();
}

/** An encoded StoreP2PMessageJobs, published with the `jobs: batch` header (tests). */
export function p2pJobs(ms: TestMessage[]): Uint8Array {
  return StoreP2PMessageJobs.encode({ jobs: ms.map(p2pJobOf) }).finish();
}

/** An encoded StoreGroupMessageJobs, published with the `jobs: batch` header (tests). */
export function groupJobs(ms: TestMessage[]): Uint8Array {
  return StoreGroupMessageJobs.encode({ jobs: ms.map(groupJobOf) }).finish();
}

function p2pJobOf(m: TestMessage): StoreP2PMessageJob {
  return {
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
  };
}

/** An encoded StoreGroupMessageJob; `to` is the group id (tests and bench). */
export function groupJob(m: TestMessage): Uint8Array {
  return StoreGroupMessageJob.encode(groupJobOf(m)).finish();
}

function groupJobOf(m: TestMessage): StoreGroupMessageJob {
  return {
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
  };
}
