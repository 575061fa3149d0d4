import type { Logger } from "pino";
import type { RoleHandle } from "../lib/role/role.js";

/**
 * Waits for SIGINT or SIGTERM, then stops the roles in the given order and
 * resolves with the exit code: 0 after a clean drain, 1 when a stop failed or
 * a second signal forced the exit.
 */
export function runUntilSignal(
  handles: RoleHandle[],
  logger: Logger,
  onStopped?: () => Promise<void>,
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal, exiting now");
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, "shutting down");
      void stopAll(handles, logger, onStopped).then(resolve);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** Stops every role in order (the caller lists the edge first), then `onStopped`. */
export async function stopAll(
  handles: RoleHandle[],
  logger: Logger,
  onStopped?: () => Promise<void>,
): Promise<number> {
  let code = 0;
  for (const h of handles) {
    try {
      await h.stop();
      logger.info({ role: h.role }, "role stopped");
    } catch (err) {
      code = 1;
      logger.error({ err, role: h.role }, "role failed to stop cleanly");
    }
  }
  try {
    await onStopped?.();
  } catch (err) {
    code = 1;
    logger.error({ err }, "cleanup failed");
  }
  return code;
}
