import type { Config } from "../../../lib/config/index.js";

/** The settings messaging reads (config `messaging`, `apps`, `workerId`, `nodeId`). */
export interface MessagingSettings {
  /** P2P sends need a friendship both ways (spec §5.3 sendMessageCheckFriend). */
  checkFriendship: boolean;
  /** P2P sends are refused across a blacklist (spec §5.3 sendMessageCheckBlack). */
  checkBlacklist: boolean;
  /** How long after acceptance the sender may recall (50004 after). */
  recallWindowMs: number;
  /** How long kv remembers a send's ACK for retries. */
  dedupeTtlMs: number;
  /** Sequences reserved per high-water write. */
  sequenceStep: number;
  /** messageKey worker id; undefined = leased in kv. */
  workerId: number | undefined;
  /** This process's node id (names its worker-id lease). */
  nodeId: string;
  /** Configured admin ids per app id (config `apps[appId].adminIds`). */
  adminIds(appId: number): readonly string[];
}

/** The messaging settings of a loaded configuration. */
export function messagingSettings(
  config: Pick<Config, "messaging" | "apps" | "workerId" | "nodeId">,
): MessagingSettings {
  return {
    ...config.messaging,
    workerId: config.workerId,
    nodeId: config.nodeId,
    adminIds: (appId) => config.apps[String(appId)]?.adminIds ?? [],
  };
}

/** The limits of the message columns (schema.prisma MessageBody), checked before a send is accepted. */
export const MESSAGE_LIMITS = {
  /** im_message_body.message_body VARCHAR(5000) (spec §5.3). */
  body: 5000,
  /** im_message_body.message_id VARCHAR(100). */
  messageId: 100,
  /** im_message_body.extra VARCHAR(1000). */
  extra: 1000,
  /** User and group ids, VARCHAR(50). */
  id: 50,
} as const;
