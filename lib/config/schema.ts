import { z } from "zod";

/**
 * The one configuration schema (docs/architecture.md §7, docs/style.md §11). Every object is strict, so an
 * unknown key is an error instead of a silently ignored typo. Each check carries an "expected ..." phrase as
 * its message; {@link ConfigError} turns it into one line naming the key, its source and the bad value.
 * Units are in the key names (`Ms`, `Seconds`, `Bytes`).
 */

/** Pino log levels accepted by `log.level`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Deployment profiles: one process on in-memory/PGlite adapters, or one process per role on real servers. */
export const PROFILES = ["embedded", "distributed"] as const;

const MIB = 1024 * 1024;
const INT32_MAX = 2_147_483_647;

/** An integer in [min, max]; every failing check reports the same phrase. */
function int(min: number, max: number) {
  const error = `an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A TCP port; 0 asks the OS for an ephemeral port (tests use it). */
const port = (fallback: number) => int(0, 65535).default(fallback);

const nonEmpty = (what: string) => z.string({ error: what }).min(1, { error: what });

/** A URL with one of the given schemes (the scheme check runs before URL parsing). */
function url(schemes: readonly string[]) {
  const error = `a ${schemes.map((s) => `${s}://`).join(" or ")} URL`;
  return z
    .string({ error })
    .refine((s) => schemes.some((scheme) => s.startsWith(`${scheme}://`)) && URL.canParse(s), { error });
}

/** One `gateway.allowedOrigins` entry (the same shape gateway/transport/origin-policy.ts matches). */
const ORIGIN_ERROR = "a list of origins like https://app.example.com, https://*.example.com or *";
const origin = z
  .string({ error: ORIGIN_ERROR })
  .regex(/^(\*|[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$/i, {
    error: ORIGIN_ERROR,
  });

/** A list of origins, or the same as one comma-separated string (how an environment variable gives it). */
const originList = z.union(
  [
    z.array(origin, { error: ORIGIN_ERROR }),
    z
      .string({ error: ORIGIN_ERROR })
      .transform((s) =>
        s
          .split(",")
          .map((t) => t.trim())
          .filter((t) => t !== ""),
      )
      .pipe(z.array(origin)),
  ],
  { error: ORIGIN_ERROR },
);

const hostPort = z
  .string({ error: "a host:port address" })
  .regex(/^[^\s:/]+:\d{1,5}$/, { error: "a host:port address" });

/** App ids are int32 on the wire (spec §2.1), so the record key is a decimal string in that range. */
const appId = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, { error: `an app id (digits, 1 to ${INT32_MAX})` })
  .refine((s) => Number(s) <= INT32_MAX, { error: `an app id (digits, 1 to ${INT32_MAX})` });

const appSchema = z.strictObject(
  {
    /** HMAC-SHA256 key for userSign (spec §6.2). Never logged (see redactConfig). */
    privateKey: z
      .string({ error: "a private key of at least 8 characters" })
      .min(8, { error: "a private key of at least 8 characters" }),
    /** User ids treated as app administrators (fixes D4's hard-coded isAdmin = false). */
    adminIds: z.array(nonEmpty("a non-empty user id"), { error: "a list of user ids" }).optional(),
  },
  { error: "an object { privateKey, adminIds? }" },
);

/** A strict section object whose missing keys take their defaults when the section is absent. */
function section<T extends z.core.$ZodLooseShape>(shape: T) {
  const object = z.strictObject(shape, { error: "an object" });
  // Every key of every section has a default or is optional, so `{}` is a valid input.
  return object.prefault({} as z.input<typeof object>);
}

/** The schema itself; `loadConfig` parses the merged sources with it. */
export const configSchema = z
  .strictObject(
    {
      profile: z.enum(PROFILES, { error: `one of ${PROFILES.join(", ")}` }).default("embedded"),
      /** The embedded profile keeps all of its data (PGlite files, ...) under this folder. */
      dataDir: nonEmpty("a non-empty path").default("./data"),
      /** Names this process in session routes and bus queues; the profile default is `${hostname}-${pid}`. */
      nodeId: z
        .string({ error: "a node id of letters, digits, '.', '_' or '-'" })
        .regex(/^[A-Za-z0-9._-]{1,128}$/, { error: "a node id of letters, digits, '.', '_' or '-'" }),
      /** messageKey worker id (spec §5.10, 5 bits); undefined = leased or derived by the composition root. */
      workerId: int(0, 31).optional(),
      log: section({
        level: z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(", ")}` }).default("info"),
        /**
         * Human-readable lines through pino-pretty (a dev dependency). Unset: pretty when stdout is a
         * terminal, JSON lines otherwise (pino's convention); JSON also when pino-pretty is not installed.
         */
        pretty: z.boolean({ error: "true or false" }).optional(),
      }),
      /** Apps by appId. No default here: the embedded profile adds the original's demo app. */
      apps: z
        .record(appId, appSchema, { error: 'an object { "<appId>": { privateKey } }' })
        // At least one app is required by the commands that use apps (loadConfig `needs`), not here:
        // `whaleshark migrate` has no use for them.
        .default({}),
      auth: section({
        /** "sign" requires a valid userSign at LOGIN; "open" trusts the client (the original's D26 behaviour). */
        login: z.enum(["sign", "open"], { error: "one of sign, open" }).default("sign"),
        userSignTtlSeconds: int(1, INT32_MAX).default(604_800),
        /** How far ahead of this server's clock a userSign's issue time may be (LOGIN and gRPC); later = 60003. */
        maxClockSkewMs: int(0, 3_600_000).default(60_000),
      }),
      database: section({
        url: url(["postgres", "postgresql"]).optional(),
        /**
         * Most PostgreSQL connections one domain or store process keeps (its pg pool). Their work is
         * many short round trips, latency-bound rather than CPU-bound, so twice pg's 10 lets more of
         * them overlap; two domain and two store processes then hold 80 connections, still under
         * PostgreSQL's default max_connections of 100. The gateway opens none.
         */
        poolSize: int(1, 1000).default(20),
        /**
         * How long a query may wait for a pooled connection (or for a new one to open) before it fails.
         * 3 s = the default gateway.forwardTimeoutMs: a caller that waited longer has given up already,
         * so waiting on would only do work nobody reads (pg's own default waits forever).
         */
        connectTimeoutMs: int(100, 600_000).default(3000),
        /**
         * Embedded profile only: PGlite's shared_buffers in MB. PGlite's own default, 128, stays
         * resident in the process once touched; 16 keeps the embedded process small (bench/RESULTS.md
         * "footprint") and the operating system's page cache still holds PGlite's files.
         */
        embeddedSharedBuffersMb: int(1, 1024).default(16),
      }),
      redis: section({
        url: url(["redis", "rediss"]).optional(),
        keyPrefix: z.string({ error: "a string" }).default("ws:"),
        /**
         * `url` names one node of a Redis Cluster (the client finds the others): kv batches go out per
         * slot (docs/kv-keys.md). False: a single server (or one behind a proxy).
         */
        cluster: z.boolean({ error: "true or false" }).default(false),
      }),
      amqp: section({
        url: url(["amqp", "amqps"]).optional(),
        /** Prefix of every exchange and queue name. */
        prefix: nonEmpty("a non-empty string").default("whaleshark"),
        /**
         * RabbitMQ queue type of every bus queue (docs/queues.md). `classic` by default: it runs on the one
         * broker most deployments start with, and a queue cannot change type in place (a redeclare with
         * another type is refused), so switching is a deliberate step. `quorum` for a cluster of 3+ nodes:
         * replicated, survives the loss of a minority of nodes.
         */
        queueType: z.enum(["classic", "quorum"], { error: "classic or quorum" }).default("classic"),
      }),
      gateway: section({
        host: nonEmpty("a host name or address").default("0.0.0.0"),
        tcpPort: port(19001),
        wsPort: port(19002),
        wsPath: z
          .string({ error: "a path starting with /" })
          .regex(/^\/\S*$/, { error: "a path starting with /" })
          .default("/ws"),
        grpcPort: port(19000),
        /** Largest accepted imei + body of one client frame, checked when the header is read. */
        maxFrameBytes: int(1024, 64 * MIB).default(65_536),
        /**
         * A connection that sends nothing (not even PING 9999) for this long is forced offline and
         * closed (fixes D3; TCP and WS). 90 s = three missed pings of the original client's 30 s interval.
         */
        heartbeatTimeoutMs: int(1000, 3_600_000).default(90_000),
        /** Multi-device policy (spec §4.3): 1 ONE, 2 TWO, 3 THREE, 4 ALL. */
        loginMode: int(1, 4).default(3),
        /** Bytes queued for one slow client before it is closed instead of buffering more. */
        sendQueueMaxBytes: int(64 * 1024, 1024 * MIB).default(MIB),
        /** Open client connections from one address (IPv6: one /64), TCP and WebSocket together, counted at accept. */
        maxConnectionsPerIp: int(1, 10_000_000).default(1000),
        /**
         * Open client connections in all, TCP and WebSocket together, counted at the TCP accept (also
         * sockets still in their WebSocket upgrade). Lowered at start to the process's descriptor limit
         * minus a reserve (lib/net/descriptor-limit.ts), so the cap refuses before accept fails for all.
         */
        maxConnections: int(1, 10_000_000).default(50_000),
        /**
         * A connection that has not completed LOGIN this long after its TCP accept is closed
         * (`login-timeout`); frames before login (PING included) do not extend it.
         */
        loginTimeoutMs: int(100, 600_000).default(10_000),
        /** The WebSocket port's HTTP upgrade request must be complete (headers) this long after the accept; 408 after. */
        handshakeTimeoutMs: int(100, 600_000).default(5000),
        /**
         * Browser origins allowed to open a WebSocket (`*`, `https://app.example.com`,
         * `https://*.example.com`); a list or comma-separated. Requests without Origin (non-browser
         * clients) are always allowed. Unset: `*` in the embedded profile, none in the distributed one.
         */
        allowedOrigins: originList.optional(),
        /** Address of the gateway's gRPC port (health and reflection only): loopback unless probes need it. */
        grpcHost: nonEmpty("a host name or address").default("127.0.0.1"),
        /**
         * TTL of a user's session hash in kv, renewed by every login and, at most every
         * min(sessionTtlMs - heartbeatTimeoutMs, heartbeatTimeoutMs) / 2, by a device's traffic; a
         * dead gateway's sessions expire after it (spec §4.2). Must exceed heartbeatTimeoutMs.
         */
        sessionTtlMs: int(2000, 86_400_000).default(300_000),
        /** What a device kicked by multi-login gets: close = 9002, closed, marked offline (D24); notify = 9002 only. */
        kickMode: z.enum(["close", "notify"], { error: "one of close, notify" }).default("close"),
        /** Deadline of one forwarded call to the domain (send, receive ack, read, recall); past it the client gets an error ACK (D22). */
        forwardTimeoutMs: int(100, 60_000).default(3000),
        /**
         * Sends (1103 / 2104) one connection may have in flight at once; past it the gateway stops
         * reading that socket until ACKs free the window (gateway/session/connection.ts).
         */
        maxInFlightSends: int(1, 10_000).default(256),
        /**
         * Sends (1103 / 2104) a second one connection may keep up (token bucket; 0 = no limit); a
         * send past it is refused at once with 60006 and a retryAfterMs the SDK waits out before
         * resending (gateway/commands/send-rate.ts). People type far slower; it stops a flood from
         * one connection from slowing everybody else's ACKs. Benchmarks of raw throughput set 0.
         */
        sendRatePerConnection: int(0, 1_000_000).default(100),
        /**
         * Sends one connection may make at once before its rate applies: what a flood gets in at once
         * (the other users' ACKs wait behind it), and what a reconnecting SDK rewrites of its window
         * without a refusal.
         */
        sendBurstPerConnection: int(1, 1_000_000).default(100),
        /** Like sendRatePerConnection, for one user's connections on this gateway together (0 = no limit). */
        sendRatePerUser: int(0, 1_000_000).default(200),
        /** Sends one user's connections on this gateway may make at once before sendRatePerUser applies. */
        sendBurstPerUser: int(1, 1_000_000).default(300),
        /**
         * Load shedding (gateway/commands/send-load.ts): when sends have been waiting this long for
         * the domain (the shortest wait of the last half second; or one connection's oldest send
         * twice this long), new sends are refused at once with 60006 and a retryAfterMs instead of
         * queueing past the point where clients resend (the SDK's resend timeout is at least 2 s);
         * 0 = never.
         */
        shedSendsAfterMs: int(0, 60_000).default(1000),
        /** Sends waiting for the domain at once past which new ones are shed likewise (0 = no bound). */
        shedSendsAtDepth: int(0, 10_000_000).default(20_000),
        /**
         * The web console on the WebSocket port's HTTP side (`/`, `/console/...`; gateway/console).
         * Unset: on in the embedded profile, off in the distributed one (every console path 404).
         */
        console: z.boolean({ error: "true or false" }).optional(),
        /**
         * The HTTP API address the console page calls, as a browser reaches it (e.g.
         * https://api.example.com). Unset: in the embedded profile http://<the page's host>:<domain.port>;
         * in the distributed one none (the page then reads nothing through the HTTP API).
         */
        consoleHttpApi: url(["http", "https"]).optional(),
      }),
      /** Prometheus `/metrics` endpoints, one per role so the embedded profile can run all three. */
      metrics: section({
        enabled: z.boolean({ error: "true or false" }).default(true),
        /** Loopback by default: the endpoints are for operators; set 0.0.0.0 (or an address) for a scraper elsewhere. */
        host: nonEmpty("a host name or address").default("127.0.0.1"),
        gatewayPort: port(9464),
        domainPort: port(9465),
        storePort: port(9466),
        /** Open connections to one metrics endpoint, in all and from one address. */
        maxConnections: int(1, 100_000).default(64),
        maxConnectionsPerIp: int(1, 100_000).default(16),
      }),
      /** Every gRPC server of the process (domain, store, the gateway's health port). */
      grpc: section({
        /**
         * Server reflection: all = the whole contract, public = the services this server mounts
         * except internal ones (ChatService), off = none. Unset: all in the embedded profile
         * (development), public in the distributed one.
         */
        reflection: z.enum(["all", "public", "off"], { error: "one of all, public, off" }).optional(),
        /** Open connections to one gRPC server, in all and from one address (IPv6: one /64). */
        maxConnections: int(1, 1_000_000).default(1024),
        maxConnectionsPerIp: int(1, 1_000_000).default(128),
        /** A connection that has not sent the HTTP/2 preface and its SETTINGS this long after accept is closed. */
        handshakeTimeoutMs: int(100, 600_000).default(10_000),
        /** Server keepalive PING interval; a connection that does not answer within min(this, 20 s) is closed. */
        keepaliveTimeMs: int(1000, 86_400_000).default(60_000),
      }),
      /**
       * The HTTP/JSON API (issue 14): HTTP/1.1 on the same ports as gRPC (domain 18000, store 18001),
       * the original's paths and every gRPC method in the Connect unary shape (lib/http).
       */
      http: section({
        /** false: the ports speak gRPC only (an HTTP/1.1 connection is closed). */
        enabled: z.boolean({ error: "true or false" }).default(true),
        /**
         * Browser origins the API answers CORS for (same entries as gateway.allowedOrigins).
         * Unset: every origin in the embedded profile, none in the distributed one.
         */
        allowedOrigins: originList.optional(),
        /** Largest request body; a larger one is refused with HTTP 413 before it is read. */
        maxBodyBytes: int(1024, 64 * MIB).default(MIB),
        /** Deadline of one call (a Connect caller's connect-timeout-ms may shorten it). */
        timeoutMs: int(100, 600_000).default(10_000),
        /** An HTTP connection idle (no bytes either way) this long is closed. */
        idleTimeoutMs: int(1000, 3_600_000).default(30_000),
      }),
      domain: section({
        host: nonEmpty("a host name or address").default("127.0.0.1"),
        port: port(18000),
        /**
         * Shared secret gateways present on ChatService calls (metadata `x-whaleshark-internal`).
         * Required in the distributed profile (checked when the domain and gateway start); the
         * embedded profile generates one per process. Never logged.
         */
        internalSecret: z
          .string({ error: "a secret of at least 16 characters" })
          .min(16, { error: "a secret of at least 16 characters" })
          .optional(),
        /** 1: a deleted conversation is pushed (5000) to the owner's other devices; 2: not (spec §11). */
        deleteConversationSyncMode: int(1, 2).default(1),
      }),
      /**
       * Chat messages (spec §5.3–§5.7, docs/architecture.md §4): send checks, idempotency, sequences, recall.
       */
      messaging: section({
        /** Refuse P2P sends between users who are not friends both ways (spec §5.3 sendMessageCheckFriend). */
        checkFriendship: z.boolean({ error: "true or false" }).default(true),
        /** Refuse P2P sends when either side blacklisted the other (spec §5.3 sendMessageCheckBlack). */
        checkBlacklist: z.boolean({ error: "true or false" }).default(true),
        /** How long a sender may recall its message after the server accepted it; admins always may. */
        recallWindowMs: int(0, 2_592_000_000).default(120_000),
        /** How long kv remembers a send's ACK by (appId, fromId, messageId); the database covers later retries. */
        dedupeTtlMs: int(1000, 86_400_000).default(300_000),
        /**
         * Sequences reserved in the database per write of a conversation's high-water mark
         * (docs/architecture.md §4).
         */
        sequenceStep: int(1, 1_000_000).default(1000),
      }),
      /** Online status (services/domain/presence, lib/presence): 4001 / 4004 / 4005, PresenceService. */
      presence: section({
        /** 4004 also to the user's friends (always to live subscribers; never to group members). */
        notifyFriends: z.boolean({ error: "true or false" }).default(true),
        /** Changes of one user within this window are pushed once, as the last state (a flapping device). */
        coalesceMs: int(0, 60_000).default(1000),
        /** Most live subscribers one user may have (PresenceService.Subscribe refuses past it with 20004). */
        maxSubscribers: int(1, 1_000_000).default(1000),
        /** Most users one user may subscribe to at once (20004 past it). */
        maxSubscriptions: int(1, 100_000).default(500),
        /** A subscription's TTL when Subscribe gives none. */
        defaultSubscriptionTtlMs: int(1000, 30 * 86_400_000).default(3_600_000),
        /** Longest TTL Subscribe accepts (90001 past it). */
        maxSubscriptionTtlMs: int(1000, 30 * 86_400_000).default(86_400_000),
        /** How often each domain looks for users due for evaluation (lib/presence/presence-keys.ts). */
        sweepIntervalMs: int(50, 10_000).default(500),
      }),
      /**
       * Webhooks to the app server (spec §7). One flag per event (fixes D8); `url` unset = none fire.
       * Before-callbacks are synchronous and may veto; after-callbacks are sent in the background.
       */
      callbacks: section({
        url: url(["http", "https"]).optional(),
        timeoutMs: int(100, 60_000).default(2000),
        /** open: an unreachable or broken before-callback allows the action; closed: refuses it (71000). */
        beforeFailure: z.enum(["open", "closed"], { error: "one of open, closed" }).default("open"),
        afterMaxAttempts: int(1, 10).default(3),
        afterRetryDelayMs: int(0, 60_000).default(500),
        /** After-callbacks waiting or in flight; more are dropped (and logged) to bound memory. */
        afterMaxPending: int(1, 1_000_000).default(1000),
        modifyUserAfterCallback: z.boolean({ error: "true or false" }).default(true),
        addFriendBeforeCallback: z.boolean({ error: "true or false" }).default(false),
        addFriendAfterCallback: z.boolean({ error: "true or false" }).default(false),
        modifyFriendBeforeCallback: z.boolean({ error: "true or false" }).default(false),
        modifyFriendAfterCallback: z.boolean({ error: "true or false" }).default(false),
        deleteFriendAfterCallback: z.boolean({ error: "true or false" }).default(false),
        addFriendShipBlackAfterCallback: z.boolean({ error: "true or false" }).default(false),
        deleteFriendShipBlackAfterCallback: z.boolean({ error: "true or false" }).default(false),
        createGroupAfterCallback: z.boolean({ error: "true or false" }).default(false),
        modifyGroupAfterCallback: z.boolean({ error: "true or false" }).default(false),
        destroyGroupAfterCallback: z.boolean({ error: "true or false" }).default(false),
        transferGroupAfterCallback: z.boolean({ error: "true or false" }).default(false),
        addGroupMemberBeforeCallback: z.boolean({ error: "true or false" }).default(false),
        addGroupMemberAfterCallback: z.boolean({ error: "true or false" }).default(false),
        deleteGroupMemberAfterCallback: z.boolean({ error: "true or false" }).default(false),
        sendMessageBeforeCallback: z.boolean({ error: "true or false" }).default(false),
        sendMessageAfterCallback: z.boolean({ error: "true or false" }).default(false),
      }),
      store: section({
        host: nonEmpty("a host name or address").default("127.0.0.1"),
        port: port(18001),
        /** Persistence jobs written per database transaction (the consumer's batch size). */
        batchSize: int(1, 10_000).default(500),
        /** Longest wait for a batch to fill before it is written anyway, in ms. */
        batchWaitMs: int(0, 60_000).default(20),
        /** Attempts before a job that keeps failing moves to the dead-letter queue. */
        maxAttempts: int(1, 100).default(5),
        /**
         * How often members' group conversations follow their groups' new messages, in ms: a group
         * moves its members' rows at most once per this (services/store/consumer/group-conversations.ts).
         */
        groupConversationFlushMs: int(50, 60_000).default(1_000),
        /**
         * Days a message is kept: older ones (body and history rows) are deleted by the store in small
         * batches (services/store/retention). 0 keeps every message (the default).
         */
        retentionDays: int(0, 36_500).default(0),
        /** Time between two retention sweeps, in ms. */
        retentionIntervalMs: int(1_000, 86_400_000).default(600_000),
      }),
      discovery: section({
        /** Registry: static (config addresses, in-process), zookeeper (ephemeral znodes) or consul (agent, TTL checks). */
        kind: z
          .enum(["static", "zookeeper", "consul"], { error: "one of static, zookeeper, consul" })
          .default("static"),
        /** Address of the domain gRPC service, used by other processes. */
        domain: hostPort.default("127.0.0.1:18000"),
        /** Address of the store gRPC service, used by other processes. */
        store: hostPort.default("127.0.0.1:18001"),
        /** Service names are `<prefix>.domain`, `.store`, `.gateway.tcp`, `.gateway.ws`. */
        servicePrefix: z
          .string({ error: "letters, digits, '.', '_' or '-'" })
          .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/, { error: "letters, digits, '.', '_' or '-'" })
          .default("whaleshark"),
        /** Host this process registers (others connect to it); unset = the bind host, or the first LAN IPv4 for 0.0.0.0. */
        advertiseHost: z
          .string({ error: "a host name or address" })
          .regex(/^[^\s/]+$/, { error: "a host name or address" })
          .optional(),
        /** ZooKeeper connect string: host:port[,host:port...][/chroot]. */
        zookeeperConnect: z
          .string({ error: "host:port[,host:port...][/chroot]" })
          .regex(/^[^\s:/,]+:\d{1,5}(,[^\s:/,]+:\d{1,5})*(\/\S*)?$/, {
            error: "host:port[,host:port...][/chroot]",
          })
          .default("127.0.0.1:2181"),
        /** Root znode; instances live at `<root>/services/<service>/<id>`. */
        zookeeperRoot: z
          .string({ error: "a znode path like /whaleshark" })
          .regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: "a znode path like /whaleshark" })
          .default("/whaleshark"),
        /** Session timeout asked of ZooKeeper: a dead process's instances vanish this long after it died. */
        zookeeperSessionTimeoutMs: int(2000, 120_000).default(10_000),
        /** Consul agent HTTP API (usually the local agent). */
        consulUrl: url(["http", "https"]).default("http://127.0.0.1:8500"),
        /** TTL of each instance's Consul check (passed every TTL/3): a dead process leaves the healthy set within it. */
        consulCheckTtlMs: int(1000, 600_000).default(10_000),
        /** After this long failing, Consul removes the instance altogether (Consul's minimum is 1 minute). */
        consulDeregisterAfterMs: int(60_000, 86_400_000).default(60_000),
        /** Gateway route model (spec §4.6 imRouteModel): 1 RANDOM, 2 LOOP (round robin), 3 HASH (consistent hash of userId). */
        routeModel: int(1, 3).default(3),
      }),
      /** The web console's demo conveniences (gateway/console, README "Web console"). */
      console: section({
        /**
         * POST /console/demo-login issues a userSign of the console's app for any user id typed into
         * the page, creating the user: a demo switch, never for a real deployment. Unset: on in the
         * embedded profile, off in the distributed one (refused with 403 unless set true).
         */
        demoLogin: z.boolean({ error: "true or false" }).optional(),
        /** The app the console logs in to (its config.json `appId`; the embedded demo app). */
        appId: int(1, INT32_MAX).default(10001),
      }),
      /** Data written at start-up. */
      seed: section({
        /**
         * On the first start of an embedded data dir, create the demo users alice, bob and carol,
         * their friendships and the group "WhaleShark demo" (app/seed-demo.ts). Unset: on in the
         * embedded profile; the distributed profile never seeds.
         */
        demo: z.boolean({ error: "true or false" }).optional(),
      }),
      /**
       * OpenTelemetry traces of a message's path (docs/tracing.md): spans at the gateway, the
       * domain, the store and the delivering gateway, linked by W3C trace context in gRPC metadata
       * and bus headers, exported over OTLP/HTTP (JSON). Off by default; off, no SDK is loaded.
       */
      tracing: section({
        enabled: z.boolean({ error: "true or false" }).default(false),
        /** The collector's OTLP/HTTP traces endpoint (an OpenTelemetry Collector, Jaeger, Tempo). */
        otlpEndpoint: url(["http", "https"]).default("http://localhost:4318/v1/traces"),
        /**
         * `service.name` of this process's spans. Unset: the role's name (gateway, domain, store),
         * also for each role of `whaleshark start`.
         */
        serviceName: nonEmpty("a non-empty service name").optional(),
        /**
         * Share of traces recorded, decided where a trace starts (the gateway) and followed by every
         * later hop: 1 = all, 0.01 = one in a hundred, 0 = none (context is still passed on).
         */
        sampleRatio: z
          .number({ error: "a number from 0 to 1" })
          .min(0, { error: "a number from 0 to 1" })
          .max(1, { error: "a number from 0 to 1" })
          .default(1),
      }),
      shutdown: section({
        /** How long a graceful stop waits for connections and in-flight work before forcing. */
        graceMs: int(0, 600_000).default(10_000),
      }),
    },
    { error: "an object" },
  )
  .superRefine((config, ctx) => {
    if (config.gateway.sendQueueMaxBytes < config.gateway.maxFrameBytes) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "sendQueueMaxBytes"],
        input: config.gateway.sendQueueMaxBytes,
        message: `at least gateway.maxFrameBytes (${config.gateway.maxFrameBytes}) so one frame fits`,
      });
    }
    if (config.gateway.sessionTtlMs <= config.gateway.heartbeatTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "sessionTtlMs"],
        input: config.gateway.sessionTtlMs,
        message: `more than gateway.heartbeatTimeoutMs (${config.gateway.heartbeatTimeoutMs}) so live sessions never expire`,
      });
    }
  });

/** What a command uses; each is required by {@link requirementIssues} only when the command needs it. */
export const NEEDS = ["apps", "database", "redis", "amqp"] as const;
export type Need = (typeof NEEDS)[number];

/** A requirement a command's configuration does not meet: the key, its value and what is expected. */
export interface RequirementIssue {
  path: string[];
  input: unknown;
  message: string;
}

/**
 * The requirements of a command (`needs`) that the parsed configuration does not meet: at least
 * one app, and in the distributed profile (no in-process fallbacks) the URL of every server the
 * command talks to. `whaleshark migrate` needs only the database; the roles need everything.
 */
export function requirementIssues(
  config: z.output<typeof configSchema>,
  needs: readonly Need[],
): RequirementIssue[] {
  const issues: RequirementIssue[] = [];
  if (needs.includes("apps") && Object.keys(config.apps).length === 0) {
    issues.push({
      path: ["apps"],
      input: config.apps,
      message: 'at least one app { "<appId>": { privateKey } }',
    });
  }
  if (config.profile !== "distributed") return issues;
  const servers = [
    ["database", config.database.url, "a postgres:// or postgresql:// URL"],
    ["redis", config.redis.url, "a redis:// or rediss:// URL"],
    ["amqp", config.amqp.url, "an amqp:// or amqps:// URL"],
  ] as const;
  for (const [name, value, expected] of servers) {
    if (needs.includes(name) && value === undefined) {
      issues.push({
        path: [name, "url"],
        input: value,
        message: `${expected} (required by the distributed profile)`,
      });
    }
  }
  return issues;
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, deeply frozen configuration every process reads at start-up. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

/** One app's settings (`config.apps[appId]`). */
export type AppConfig = Config["apps"][string];
