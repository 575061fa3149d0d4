import { readFileSync } from "node:fs";

/**
 * The soft limit of open file descriptors of this process (`ulimit -n`; Node raises it to the hard
 * limit at start-up), read from `/proc/self/limits`; undefined where that file does not exist
 * (not Linux) or says "unlimited".
 */
export function openFilesLimit(
  read: () => string = () => readFileSync("/proc/self/limits", "utf8"),
): number | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Descriptors left for everything that is not a client connection (kv, bus, database, gRPC,
 * metrics, files): a tenth of the limit, at least 1 024, at most half of it.
 */
export function descriptorReserve(limit: number): number {
  return Math.floor(Math.min(Math.max(1024, limit / 10), limit / 2));
}

/**
 * The connection cap that can actually hold: `configured`, lowered to the descriptor limit minus
 * {@link descriptorReserve} when the limit is known. Past the real limit `accept` fails for
 * everyone (EMFILE), also for the other addresses the per-IP cap is meant to protect, so the cap
 * must refuse first.
 */
export function capToDescriptors(configured: number, limit: number | undefined): number {
  if (limit === undefined) return configured;
  return Math.max(1, Math.min(configured, limit - descriptorReserve(limit)));
}
