import { PrismaPg } from "@prisma/adapter-pg";
import type { Logger } from "pino";
import { PrismaClient } from "../../../gen/prisma/client.js";
import type { DatabaseHandle } from "../../ports/db.js";
import { translatingDriverAdapter } from "../prisma-errors.js";

/** Options for {@link openPostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** `postgres://` or `postgresql://` URL (`database.url`). */
  url: string;
  /**
   * Most pooled connections: `database.poolSize` in the processes (app/deps.ts); 10, pg's own
   * default, when not given (tests, tools).
   */
  poolSize?: number;
  /**
   * How long a query may wait for a pooled connection, or for a new one to open, before it
   * rejects: `database.connectTimeoutMs` in the processes; 5000 ms when not given.
   */
  connectTimeoutMs?: number;
  /** Gets a warning for every pool or connection error (a server restart, a dropped socket). */
  logger?: Logger;
}

/**
 * The distributed profile's database: the Prisma client on PostgreSQL through
 * `@prisma/adapter-pg` and a pg pool. It does not migrate: `whaleshark
 * migrate` does that once per deployment, as `prisma migrate deploy` would.
 *
 * Connection errors of idle pooled clients are logged, not thrown: pg emits
 * them as `error` events, which would otherwise crash the process when the
 * server restarts (the db port promises a rejected call, then reconnection).
 * Statement errors of the port's kinds reject as its DbError (../prisma-errors.ts).
 */
export async function openPostgresDatabase(opts: PostgresDatabaseOptions): Promise<DatabaseHandle> {
  const log = opts.logger?.child({ component: "postgres" });
  const onError = (err: Error) => log?.warn({ err: err.message }, "postgres connection error");
  const adapter = new PrismaPg(
    {
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // pg waits forever by default; a black-holed server must fail calls, not hang them (db port)
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    },
    { onPoolError: onError, onConnectionError: onError },
  );
  const db = new PrismaClient({ adapter: translatingDriverAdapter(adapter) });
  await db.$connect();
  return { db, close: () => db.$disconnect() };
}
