import { Command } from "../../../gen/ts/whaleshark/v1/command.js";
import {
  GroupChatMessageContent,
  MessageContent,
  MessageReceiveAckContent,
} from "../../../gen/ts/whaleshark/v1/message.js";
import { ALL, exceptCaller, type Pusher, type PushItem } from "../../../lib/push/pusher.js";
import { GROUP } from "../../../lib/wire/conversation-type.js";
import { type ChatMessage, type SenderDevice, toGroupContent, toMessageContent } from "./chat-message.js";
import type { GroupMembers } from "./group-members.js";

/**
 * Delivery of an accepted message (spec §5.3 step 3d, §5.4 step 3; docs/architecture.md
 * §2 step 5), after it is durable. Every push of one message goes out in
 * one `pushAll`: one bus publish per gateway node for the sync copies and
 * all receivers together, never one per user or device (group fan-out to
 * 500 members is a handful of publishes). Only online devices are targeted
 * (the push path's rule); offline ones catch up through sync.
 */
export class MessageFanOut {
  readonly #pusher: Pusher;
  /** The group member lists, cached per process under the groups' change tokens. */
  readonly #members: GroupMembers;

  /** @param opts.members the process's member cache, shared with recall */
  constructor(opts: { pusher: Pusher; members: GroupMembers }) {
    this.#pusher = opts.pusher;
    this.#members = opts.members;
  }

  /**
   * Delivers `message`, sent from `device`, to everyone who gets it, in two steps for a push lane
   * (push-lanes.ts): reads what the push needs (a group's members), then returns the push itself,
   * which the lane starts in sequence order.
   */
  async prepare(message: ChatMessage, device: SenderDevice): Promise<() => Promise<void>> {
    if (message.conversationType !== GROUP) return () => this.#p2p(message, device);
    const members = await this.#members.idsOf(message.appId, message.toId);
    return () => this.#group(message, device, members);
  }

  /**
   * P2P: 1103 to the sender's other devices (the sync copy; every device
   * when no device sent it) and to every device of the receiver. When no
   * receiver device was online, the server's own 1107 `{serverSend: true}`
   * goes to the sending device ("received on the offline user's behalf",
   * spec §5.3), if it is connected: a missing session is no error (D29).
   * Self-chat: one copy to the sender's other devices, no 1107.
   */
  async #p2p(m: ChatMessage, device: SenderDevice): Promise<void> {
    const data = MessageContent.toJSON(toMessageContent(m, device));
    const command = Command.COMMAND_MSG_P2P;
    const items: PushItem[] = [{ userId: m.fromId, target: exceptCaller(device), command, data }];
    const selfChat = m.toId === m.fromId;
    if (!selfChat) items.push({ userId: m.toId, target: ALL, command, data });
    const targeted = await this.#pusher.pushAll(m.appId, items);
    if (selfChat || device.imei === "" || targeted.some((d) => d.userId === m.toId)) return;
    const ack = MessageReceiveAckContent.toJSON({
      fromId: m.fromId,
      toId: m.toId,
      messageKey: m.messageKey,
      messageSequence: m.messageSequence,
      serverSend: true,
    });
    await this.#pusher.push(m.appId, m.fromId, Command.COMMAND_MSG_RECEIVE_ACK, ack, {
      kind: "one",
      clientType: device.clientType,
      imei: device.imei,
    });
  }

  /**
   * Group: 2104 to every current member's devices but the sending one
   * (members read on every delivery, also a retry's, D28, from the
   * per-process cache that a membership change invalidates). The push
   * carries no member ids (chat-message.ts toGroupContent: a defect of the
   * original, fixed). One stored copy is read by all (read diffusion, spec
   * §5.9); this is only the live push.
   */
  async #group(m: ChatMessage, device: SenderDevice, members: readonly string[]): Promise<void> {
    const data = GroupChatMessageContent.toJSON(toGroupContent(m, device));
    const command = Command.COMMAND_MSG_GROUP;
    const items: PushItem[] = [];
    if (!members.includes(m.fromId)) {
      // A sender who left since the checks (or an admin's API send) still syncs their other devices.
      items.push({ userId: m.fromId, target: exceptCaller(device), command, data });
    }
    for (const userId of members) {
      items.push({ userId, target: userId === m.fromId ? exceptCaller(device) : ALL, command, data });
    }
    await this.#pusher.pushAll(m.appId, items);
  }
}
