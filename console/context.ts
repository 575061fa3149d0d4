import type { HttpApi, WhaleSharkClient } from "../sdk/index.js";
import type { ConversationKey } from "./chat-store.js";

/** What the views of a signed-in user share. */
export interface Chat {
  me: string;
  client: WhaleSharkClient;
  api: HttpApi;
  /** Opens a conversation in the Chats view. */
  open(key: ConversationKey): void;
  /** Group names by id (filled by the Groups view), for the conversation list. */
  groupNames: Map<string, string>;
  /** Asks the server for the conversation list again (unread counts). */
  refreshConversations(): void;
}
