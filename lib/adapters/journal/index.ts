/** Public surface of the bus journal (embedded profile: durable queues that survive a crash). */
export {
  JOURNAL_ID_HEADER,
  JournaledBus,
  type JournaledBusOptions,
  type ReplayProgress,
} from "./journaled-bus.js";
