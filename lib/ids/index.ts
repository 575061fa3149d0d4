/** Public surface of the id generators. */
export {
  type DecodedMessageKey,
  decodeMessageKey,
  MESSAGE_KEY_EPOCH_SECONDS,
  MESSAGE_KEY_MAX_WORKER_ID,
  MESSAGE_KEY_SEQ_PER_SECOND,
  MessageKeyGenerator,
  type MillisClock,
} from "./message-key.js";
