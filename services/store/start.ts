import { HistoryServiceService } from "../../gen/ts/whaleshark/v1/history_service.js";
import type { Config } from "../../lib/config/index.js";
import {
  APP_ADMIN_USER_TYPE,
  AppAuthenticator,
  InternalAuthenticator,
  resolveInternalSecret,
} from "../../lib/grpc/auth.js";
import { startGrpcServer } from "../../lib/grpc/server.js";
import { createMetricsRegistry, startRoleMetrics } from "../../lib/metrics/index.js";
import type { RoleDeps, RoleHandle } from "../../lib/role/role.js";
import { startStoreConsumer } from "./consumer/store-consumer.js";
import { historyGrpcHandlers } from "./history/history-grpc.js";
import { HistoryService } from "./history/history-service.js";
import { startPartitionUpkeep } from "./partitions/message-partitions.js";
import { startRetention } from "./retention/message-retention.js";

/**
 * Retention deletes this many messages per transaction, pausing between them so the store's own
 * batch writes keep their share of the database; a sweep stops after RETENTION_MAX_BATCHES and the
 * rest waits for the next one.
 */
const RETENTION_BATCH = 1000;
const RETENTION_PAUSE_MS = 20;
const RETENTION_MAX_BATCHES = 1000;

/**
 * Starts the store role: the persistence consumer (bus `store.p2p` /
 * `store.group` → PostgreSQL, in batches) and HistoryService over gRPC on
 * `store.host:store.port`, plus its `/metrics` endpoint. HistoryService calls
 * are authenticated (history-grpc.ts): app servers by userSign, gateways by
 * the internal secret (`domain.internalSecret`, required by the distributed
 * profile as for the domain).
 *
 * `stop()` drains in order: stop taking jobs and write those in hand, then
 * stop the gRPC server (in-flight calls finish within `shutdown.graceMs`),
 * then the metrics endpoint.
 */
export async function startStore(deps: RoleDeps, config: Config): Promise<RoleHandle> {
  const logger = deps.logger;
  const db = await deps.db();
  const registry = createMetricsRegistry({ role: "store", nodeId: config.nodeId });
  const userType = async (appId: number, userId: string): Promise<number | null> => {
    const user = await db.userData.findFirst({
      where: { appId, userId, delFlag: 0 },
      select: { userType: true },
    });
    return user?.userType ?? null;
  };
  const history = new HistoryService(
    deps.db,
    async (appId, userId) =>
      config.apps[String(appId)]?.adminIds?.includes(userId) === true ||
      (await userType(appId, userId)) === APP_ADMIN_USER_TYPE,
  );
  // App servers sign their calls; gateways relaying a device's sync carry the internal secret
  // (resolved before anything starts: the distributed profile refuses to run without it).
  const auth = {
    auth: new AppAuthenticator({
      apps: config.apps,
      openLogin: config.auth.login === "open",
      kv: deps.kv,
      userType,
      maxClockSkewMs: config.auth.maxClockSkewMs,
    }),
    internal: new InternalAuthenticator(resolveInternalSecret(config)),
    logger,
  };
  // the coming months' partitions of the message tables, before the first write (partitions/)
  const partitions = await startPartitionUpkeep({ db, logger });
  const consumer = await startStoreConsumer({
    bus: deps.bus,
    db,
    logger,
    batchSize: config.store.batchSize,
    batchWaitMs: config.store.batchWaitMs,
    maxAttempts: config.store.maxAttempts,
    registry,
    groupConversationFlushMs: config.store.groupConversationFlushMs,
  });
  const retention = startRetention({
    db,
    logger,
    retentionDays: config.store.retentionDays,
    intervalMs: config.store.retentionIntervalMs,
    batchSize: RETENTION_BATCH,
    maxBatches: RETENTION_MAX_BATCHES,
    pauseMs: RETENTION_PAUSE_MS,
  });
  let grpc: Awaited<ReturnType<typeof startGrpcServer>>;
  let metrics: Awaited<ReturnType<typeof startRoleMetrics>>;
  try {
    grpc = await startGrpcServer({
      role: "store",
      host: config.store.host,
      port: config.store.port,
      services: [
        {
          name: "whaleshark.v1.HistoryService",
          definition: HistoryServiceService,
          handlers: historyGrpcHandlers(history, auth),
        },
      ],
      logger,
      inProcess: deps.inProcess,
      registry,
    });
    metrics = await startRoleMetrics(config, "store", registry, logger).catch(async (err: unknown) => {
      await grpc.stop(0);
      throw err;
    });
  } catch (err) {
    await retention.stop();
    await consumer.stop();
    await partitions.stop();
    throw err;
  }
  return {
    role: "store",
    grpcAddress: grpc.address,
    stop: async () => {
      await retention.stop();
      await partitions.stop();
      await consumer.stop();
      await grpc.stop(config.shutdown.graceMs);
      await metrics?.stop();
    },
  };
}
