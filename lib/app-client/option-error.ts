/** A bad AppClient option or call option, thrown before anything is sent. */
export class AppClientOptionError extends Error {
  /** Stable code to branch on. */
  readonly code = "app-client/bad-option";

  constructor(
    /** Which option, e.g. `identity.userId` or `retry.attempts`. */
    readonly option: string,
    reason: string,
  ) {
    super(`AppClient option ${option} ${reason}`);
    this.name = "AppClientOptionError";
  }
}
