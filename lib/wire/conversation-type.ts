import { ConversationType } from "../../gen/ts/whaleshark/v1/enums.js";

/**
 * The two conversation types a chat message has, under short names: the generated
 * `ConversationType` (enums.proto) is the one definition, these are aliases of its members, so the
 * numbers (0 and 1, spec pitfall 5) are written nowhere else. Here in lib/wire because the server
 * processes and the SDK both compare against them.
 */
export const P2P = ConversationType.CONVERSATION_TYPE_P2P;
export const GROUP = ConversationType.CONVERSATION_TYPE_GROUP;

/** The conversation type of a chat message (ROBOT and OFFICIAL_ACCOUNT carry no messages). */
export type ChatConversationType = typeof P2P | typeof GROUP;
