import type { ImportEdge } from "./imports.js";

/**
 * One wall of docs/architecture.md ("The walls"): files matching `from` may not import what
 * `forbids` says. A wall is either a list of forbidden folders or a list of the only folders
 * allowed (`only`), for folders whose whole surface is fixed (the SDK, the console).
 */
export interface Wall {
  /** Short name, used in failure messages and in the allow-list. */
  name: string;
  /** Why the wall stands: printed with every violation. */
  why: string;
  /** The files the wall applies to. */
  from: (file: string) => boolean;
  /** True when `edge` breaks the wall. */
  breaks: (edge: ImportEdge) => boolean;
}

/** A known seam: one file allowed across one wall, with the reason it is still there. */
export interface Seam {
  wall: string;
  from: string;
  target: string;
  why: string;
}

/** One broken wall. */
export interface Violation {
  wall: string;
  from: string;
  specifier: string;
  target: string | undefined;
}

/** `path` is `folder` itself or inside it (`folder` has no trailing slash). */
export function inFolder(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}/`);
}

const inAny = (path: string, folders: readonly string[]): boolean => folders.some((f) => inFolder(path, f));
const isTest = (file: string): boolean => file.endsWith(".test.ts");

/** A relative import into one of `folders`. */
const into =
  (folders: readonly string[]) =>
  (edge: ImportEdge): boolean =>
    edge.target !== undefined && inAny(edge.target, folders);

/** The process folders: each is started as (part of) a role or a tool, never imported by shared code. */
export const PROCESS_FOLDERS = ["gateway", "services", "app", "sdk", "console", "bench", "test", "scripts"];

/** What the SDK may reach in the repository: itself, the wire codec and the generated contract types. */
export const SDK_ALLOWED = ["sdk", "lib/wire", "gen/ts"];

/** Where a technology may be picked: the composition roots, the adapters themselves and test code. */
const ADAPTER_PICKERS = ["app", "lib/adapters", "lib/testing", "test", "bench", "scripts", "prisma"];

/** The walls, in the order docs/architecture.md lists them. */
export const WALLS: readonly Wall[] = [
  {
    name: "gateway-to-services",
    why: "the gateway meets the services only through the gRPC contracts and the bus",
    from: (file) => inFolder(file, "gateway"),
    breaks: into(["services"]),
  },
  {
    name: "services-to-gateway",
    why: "the services reach gateways only through the bus (DeliveryBatch) and the gateway's gRPC calls",
    from: (file) => inFolder(file, "services"),
    breaks: into(["gateway"]),
  },
  {
    name: "domain-to-store",
    why: "the domain and the store are separate roles: they meet through the bus (StoreJob) and gRPC",
    from: (file) => inFolder(file, "services/domain"),
    breaks: into(["services/store"]),
  },
  {
    name: "store-to-domain",
    why: "the domain and the store are separate roles: they meet through the bus (StoreJob) and gRPC",
    from: (file) => inFolder(file, "services/store"),
    breaks: into(["services/domain"]),
  },
  {
    name: "lib-to-process",
    why: "lib/ is what every process shares, so it may know none of them",
    from: (file) => inFolder(file, "lib") && !isTest(file),
    breaks: into(PROCESS_FOLDERS),
  },
  {
    name: "lib-tests-to-process",
    why: "lib/'s tests may share the test tree's wire fixtures (test/wire), nothing of a process",
    from: (file) => inFolder(file, "lib") && isTest(file),
    breaks: (edge) => into(PROCESS_FOLDERS)(edge) && !into(["test/wire"])(edge),
  },
  {
    name: "ports-to-adapters",
    why: "a port is the interface; which technology backs it is the composition root's choice",
    from: (file) => inFolder(file, "lib/ports"),
    breaks: into(["lib/adapters", "lib/testing", "gen/ts"]),
  },
  {
    name: "adapters-outside-roots",
    why: "only the composition roots (app/) pick a technology; roles and shared code take ports",
    from: (file) => !isTest(file) && !inAny(file, ADAPTER_PICKERS),
    breaks: into(["lib/adapters", "lib/testing"]),
  },
  {
    name: "sdk-to-server",
    why: "the SDK runs in a browser and ships alone: it may use the wire codec and the contract types only",
    from: (file) => inFolder(file, "sdk") && !isTest(file),
    breaks: (edge) => edge.target !== undefined && !inAny(edge.target, SDK_ALLOWED),
  },
  {
    name: "sdk-tests-to-server",
    why: "SDK tests run the SDK against fakes (test/wire), never against server code",
    from: (file) => inFolder(file, "sdk") && isTest(file),
    breaks: (edge) => edge.target !== undefined && !inAny(edge.target, [...SDK_ALLOWED, "test/wire"]),
  },
  {
    name: "console-to-anything",
    why: "the web console uses public surfaces only: the SDK (and the HTTP API through it)",
    from: (file) => inFolder(file, "console"),
    // A bare specifier (package or Node built-in) is refused too: the console is bundled for the browser.
    breaks: (edge) => edge.target === undefined || !inAny(edge.target, ["console", "sdk"]),
  },
];

/** Every edge that breaks a wall and is not a listed seam. */
export function violations(
  edges: readonly ImportEdge[],
  walls: readonly Wall[],
  seams: readonly Seam[] = [],
): Violation[] {
  const found: Violation[] = [];
  for (const edge of edges) {
    for (const wall of walls) {
      if (!wall.from(edge.from) || !wall.breaks(edge)) continue;
      const known = seams.some(
        (seam) => seam.wall === wall.name && seam.from === edge.from && seam.target === edge.target,
      );
      if (!known)
        found.push({ wall: wall.name, from: edge.from, specifier: edge.specifier, target: edge.target });
    }
  }
  return found;
}

/** The seams no edge uses any more: they must leave the allow-list, so it only shrinks. */
export function staleSeams(
  edges: readonly ImportEdge[],
  walls: readonly Wall[],
  seams: readonly Seam[],
): Seam[] {
  return seams.filter(
    (seam) =>
      !edges.some(
        (edge) =>
          edge.from === seam.from &&
          edge.target === seam.target &&
          walls.some((wall) => wall.name === seam.wall && wall.from(edge.from) && wall.breaks(edge)),
      ),
  );
}
