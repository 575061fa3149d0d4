import type { Logger } from "pino";

/** A child of the root logger bound to a process role (`gateway`, `domain`, `store`, ...). */
export function roleLogger(root: Logger, role: string): Logger {
  return root.child({ role });
}
