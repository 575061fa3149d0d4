import { Command } from "../../gen/ts/whaleshark/v1/command.js";
import { MessageReceiveAckContent } from "../../gen/ts/whaleshark/v1/message.js";
import { ImError } from "../errors/index.js";
import { ALL, exceptCaller, type Pusher } from "./pusher.js";

/** The device a receive ACK came from. */
type SenderDevice = { clientType: number; imei: string };

/** A receiver's 1107 for one message. */
export interface ReceiveAckInput {
  appId: number;
  /** The receiver (the session's user), who acknowledges. */
  receiverId: string;
  /** The receiver's device, from the session. */
  device: SenderDevice;
  /** The original sender, to be told. */
  toId: string;
  messageKey: number;
  messageSequence: number;
}

/**
 * Relays a receiver's MSG_RECEIVE_ACK 1107 to every online device of the
 * original sender (spec §5.3 step 4), with the receiver's app, device and
 * id taken from the session and `serverSend: false` (spec §5.5). An ACK for
 * oneself (self-chat) goes to one's other devices. A sender without online
 * devices is no error (D29: the original threw on a missing session).
 * @throws ImError 90001 without to_id
 */
export async function relayReceiveAck(pusher: Pusher, input: ReceiveAckInput): Promise<void> {
  if (input.toId.trim() === "") throw ImError.of("PARAMETER_ERROR", "to_id is required");
  const data = MessageReceiveAckContent.toJSON({
    appId: input.appId,
    clientType: input.device.clientType,
    imei: input.device.imei,
    fromId: input.receiverId,
    toId: input.toId,
    messageKey: input.messageKey,
    messageSequence: input.messageSequence,
    serverSend: false,
  });
  const target = input.toId === input.receiverId ? exceptCaller(input.device) : ALL;
  await pusher.push(input.appId, input.toId, Command.COMMAND_MSG_RECEIVE_ACK, data, target);
}
