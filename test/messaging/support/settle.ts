import type { TestDevice } from "./device.js";

/**
 * Waits until none of `devices` has received anything for `quietMs` (at most `timeoutMs`), so a
 * test can assert that a frame did NOT arrive somewhere: pushes travel through the bus and a
 * gateway, and a missing one can only be judged after the traffic has stopped.
 */
export async function settled(devices: TestDevice[], quietMs = 300, timeoutMs = 10_000): Promise<void> {
  const total = () =>
    devices.reduce((n, d) => n + d.messages.length + d.receipts.length + d.notifications.length, 0);
  const deadline = Date.now() + timeoutMs;
  let seen = total();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const now = total();
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
  }
}
