import type { Logger } from "pino";
import type { Config } from "../../../lib/config/index.js";
import { APP_ADMIN_USER_TYPE } from "../../../lib/grpc/auth.js";
import type { Bus } from "../../../lib/ports/bus.js";
import { exceptCaller } from "../../../lib/push/pusher.js";
import type { ReceiveAckInput } from "../../../lib/push/receive-ack.js";
import { markRead, type ReadMark } from "../conversation/mark-read.js";
import type { DomainEnv } from "../core/env.js";
import { SequenceAllocator } from "../sequence/sequence-allocator.js";
import type { ChatMessage, SenderDevice } from "./chat-message.js";
import { GroupMembers } from "./group-members.js";
import { MessageCallbacks } from "./message-callbacks.js";
import { MessageFanOut } from "./message-fan-out.js";
import { MessageKeys } from "./message-keys.js";
import { PushLanes } from "./push-lanes.js";
import { type RecallInput, recallMessage } from "./recall.js";
import { type ReceiptOutcome, Receipts } from "./receipts.js";
import { checkGroupSend, checkP2PSend, checkPrivateChat } from "./send-checks.js";
import { SendDedupe } from "./send-dedupe.js";
import { SendPermissions } from "./send-permissions.js";
import { type SendInput, SendPipeline } from "./send-pipeline.js";
import { type MessagingSettings, messagingSettings } from "./settings.js";
import { StoreJobPublisher } from "./store-jobs.js";

/** What {@link createMessaging} is built from: the domain's env plus the bus and the config. */
export interface MessagingDeps {
  env: DomainEnv;
  bus: Bus;
  logger: Logger;
  config: Pick<Config, "messaging" | "apps" | "workerId" | "nodeId">;
}

/**
 * The messaging core of the domain (spec §5.3–§5.7, issue 6): sends with
 * idempotency, sequences and durable storage, receive ACKs, read marks and
 * recall. ChatService (gateways) and MessageService (app servers) are thin
 * adapters over it (chat-service.ts, message-service.ts), so both paths
 * share every rule (D18).
 */
export class Messaging {
  readonly settings: MessagingSettings;
  readonly #env: DomainEnv;
  readonly #log: Logger;
  readonly #dedupe: SendDedupe;
  readonly #keys: MessageKeys;
  readonly #lanes: PushLanes;
  readonly #pipeline: SendPipeline;
  readonly #permissions: SendPermissions;
  readonly #members: GroupMembers;
  readonly #receipts: Receipts;

  constructor(deps: MessagingDeps) {
    const { env } = deps;
    this.settings = messagingSettings(deps.config);
    this.#env = env;
    this.#log = deps.logger.child({ component: "messaging" });
    this.#dedupe = new SendDedupe({ kv: env.kv, db: env.db, ttlMs: this.settings.dedupeTtlMs });
    this.#keys = new MessageKeys({
      kv: env.kv,
      log: this.#log,
      nodeId: this.settings.nodeId,
      workerId: this.settings.workerId,
    });
    this.#lanes = new PushLanes(this.#log);
    this.#permissions = new SendPermissions({ db: env.db, changes: env.changes, now: env.now });
    this.#members = new GroupMembers({ db: env.db, tokens: env.changes });
    this.#receipts = new Receipts({
      kv: env.kv,
      db: env.db,
      changes: env.changes,
      rows: (appId, fromId, toId) => this.#permissions.p2p(appId, fromId, toId),
      flags: this.settings,
      pusher: env.pusher,
      log: this.#log,
    });
    this.#pipeline = new SendPipeline({
      permissions: this.#permissions,
      now: env.now,
      flags: this.settings,
      dedupe: this.#dedupe,
      sequences: new SequenceAllocator({ kv: env.kv, db: env.db, step: this.settings.sequenceStep }),
      keys: this.#keys,
      jobs: new StoreJobPublisher(deps.bus),
      fanOut: new MessageFanOut({ pusher: env.pusher, members: this.#members }),
      lanes: this.#lanes,
      log: this.#log,
      receipts: this.#receipts,
      callbacks: new MessageCallbacks(env.callbacks),
    });
  }

  /** Accepts one message (see SendPipeline); resolves once it is durable. */
  send(input: SendInput): Promise<ChatMessage> {
    return this.#pipeline.send(input);
  }

  /** The permission checks of a send without sending (MessageService.CheckSend). */
  async checkSend(appId: number, fromId: string, toId: string, group: boolean): Promise<void> {
    if (group) {
      checkGroupSend(await this.#permissions.group(appId, fromId, toId), fromId, toId, this.#env.now());
    } else {
      const rows = await this.#permissions.p2p(appId, fromId, toId);
      checkP2PSend(rows, fromId, toId, this.settings);
      await checkPrivateChat(rows, fromId, toId, this.settings, () =>
        this.#permissions.privateChatBlock(appId, fromId, toId),
      );
    }
  }

  /**
   * A receiver's 1107: relayed to the sender's devices without the receiver's device id, or
   * dropped silently when it names no message the sender sent the receiver or the pair's P2P
   * rules forbid it (receipts.ts). Resolves with what happened.
   * @throws ImError 90001 without to_id
   */
  receiveAck(input: ReceiveAckInput): Promise<ReceiptOutcome> {
    return this.#receipts.receiveAck(input);
  }

  /**
   * A device's 1106 / 2106: the read cursor moves forward only (D14) and the
   * reader's other devices and the peer are told (conversation/mark-read.ts,
   * shared with ConversationService.MarkRead); the peer's receipt only as
   * receipts.ts allows.
   */
  markRead(mark: ReadMark, device: SenderDevice): Promise<boolean> {
    return markRead(this.#env, mark, exceptCaller(device), this.#log, this.#receipts);
  }

  /** Recalls a message (recall.ts). */
  recall(input: RecallInput): Promise<{ messageKey: number }> {
    return recallMessage(
      {
        db: this.#env.db,
        pusher: this.#env.pusher,
        members: this.#members,
        dedupe: this.#dedupe,
        now: this.#env.now,
        windowMs: this.settings.recallWindowMs,
        log: this.#log,
      },
      input,
    );
  }

  /** Whether a user is an app admin: config `adminIds`, or user_type 100 (common.proto §2). */
  async isAppAdmin(appId: number, userId: string): Promise<boolean> {
    if (this.settings.adminIds(appId).includes(userId)) return true;
    const db = await this.#env.db();
    const user = await db.userData.findFirst({
      where: { appId, userId, delFlag: 0 },
      select: { userType: true },
    });
    return user?.userType === APP_ADMIN_USER_TYPE;
  }

  /** Resolves once every push started so far has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.#lanes.idle();
  }

  /** Finishes pending pushes and frees the messageKey worker lease; call after the gRPC server stopped. */
  async close(): Promise<void> {
    await this.#lanes.idle();
    await this.#keys.close();
  }
}

/** The messaging core for a domain process (wired by services/domain/start.ts). */
export function createMessaging(deps: MessagingDeps): Messaging {
  return new Messaging(deps);
}
