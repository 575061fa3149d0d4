/**
 * The app-server client (issue 18 item 4): typed, signed calls to every gRPC service of the domain,
 * with deadlines, retries and discovery targets, plus the admin tasks built on them. Used by the
 * `whaleshark user|friend|group` commands, the demo seeding, the console's demo login, the bench and
 * the tests; see README "App-server client".
 */

export {
  createGroup,
  ensureUsers,
  type FriendLink,
  IMPORT_BATCH,
  type ImportedGroup,
  importFriendships,
  importGroup,
  importUsers,
  isUnreachable,
  MEMBER_BATCH,
  makeFriends,
  type NewGroup,
  type NewUser,
  type Parallelism,
  type UsersResult,
} from "./admin-tasks.js";
export {
  AppClient,
  type AppClientOptions,
  type AppIdentity,
  CHANNEL_DEFAULTS,
  type LocalUnaryTransport,
  RETRY_DEFAULTS,
} from "./client.js";
export { AppClientOptionError } from "./option-error.js";
export {
  type CallOptions,
  type RetryPolicy,
  SERVICES,
  type ServiceCaller,
  type ServiceCallers,
  type ServiceName,
  type UnaryMethod,
} from "./services.js";
