import { networkInterfaces } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", ""]);

/**
 * The address a process registers in discovery: `configured` (config `discovery.advertiseHost`)
 * when set; else the bind host when it is a concrete address; else, for a wildcard bind
 * (0.0.0.0, ::), the first non-internal IPv4 address of this machine, falling back to 127.0.0.1.
 * A wildcard itself is never registered: nobody can connect to 0.0.0.0.
 */
export function advertiseHost(configured: string | undefined, bindHost: string): string {
  if (configured !== undefined && configured !== "") return configured;
  if (!WILDCARDS.has(bindHost)) return bindHost;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}
