import { z } from "zod";

/**
 * The one configuration schema (DESIGN §7, STYLE 11). Every object is strict, so an unknown key is
 * an error instead of a silently ignored typo. Each check carries an "expected ..." phrase as its
 * message; {@link ConfigError} turns it into one line naming the key, its source and the bad value.
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
        pretty: z.boolean({ error: "true or false" }).default(false),
      }),
      /** Apps by appId. No default here: the embedded profile adds the original's demo app. */
      apps: z
        .record(appId, appSchema, { error: 'an object { "<appId>": { privateKey } }' })
        .default({})
        .refine((apps) => Object.keys(apps).length > 0, {
          error: 'at least one app { "<appId>": { privateKey } }',
        }),
      auth: section({
        /** "sign" requires a valid userSign at LOGIN; "open" trusts the client (the original's D26 behaviour). */
        login: z.enum(["sign", "open"], { error: "one of sign, open" }).default("sign"),
        userSignTtlSeconds: int(1, INT32_MAX).default(604_800),
      }),
      database: section({ url: url(["postgres", "postgresql"]).optional() }),
      redis: section({
        url: url(["redis", "rediss"]).optional(),
        keyPrefix: z.string({ error: "a string" }).default("ws:"),
      }),
      amqp: section({
        url: url(["amqp", "amqps"]).optional(),
        /** Prefix of every exchange and queue name. */
        prefix: nonEmpty("a non-empty string").default("whaleshark"),
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
        maxConnectionsPerIp: int(1, 10_000_000).default(1000),
      }),
      domain: section({ host: nonEmpty("a host name or address").default("127.0.0.1"), port: port(18000) }),
      store: section({ host: nonEmpty("a host name or address").default("127.0.0.1"), port: port(18001) }),
      discovery: section({
        kind: z.enum(["static"], { error: "static (the only kind so far)" }).default("static"),
        /** Address of the domain gRPC service, used by other processes. */
        domain: hostPort.default("127.0.0.1:18000"),
        /** Address of the store gRPC service, used by other processes. */
        store: hostPort.default("127.0.0.1:18001"),
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
    if (config.profile !== "distributed") return;
    // The distributed profile has no in-process fallbacks: each role needs the real servers.
    const required = [
      ["database", config.database.url, "a postgres:// or postgresql:// URL"],
      ["redis", config.redis.url, "a redis:// or rediss:// URL"],
      ["amqp", config.amqp.url, "an amqp:// or amqps:// URL"],
    ] as const;
    for (const [name, value, expected] of required) {
      if (value === undefined) {
        ctx.addIssue({
          code: "custom",
          path: [name, "url"],
          input: value, // without it zod reports the whole config (which holds private keys)
          message: `${expected} (required by the distributed profile)`,
        });
      }
    }
  });

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, deeply frozen configuration every process reads at start-up. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

/** One app's settings (`config.apps[appId]`). */
export type AppConfig = Config["apps"][string];
