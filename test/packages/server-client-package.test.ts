import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedEmbedded, startEmbedded } from "../support/cli.js";
import { installPacked, ROOT, run, typecheck } from "./support/pack.js";
import { APP_SERVER_SCRIPT, TYPED_APP_SERVER } from "./support/server-client-consumer.js";

/**
 * Issue 18 item 4 as a package: `npm pack` of lib/app-client (@whaleshark/server-client), the
 * tarball installed into an empty project outside the repository, and from there an app server
 * creates users and a friendship, sends a message (twice: deduplicated by messageId) as the app
 * admin, reads as a user, is refused an admin call as a user, and tsc checks a typed program.
 */
const APP = { appId: 10077, privateKey: "server-client-package-key", adminIds: ["pc-admin"] };

let work: string;
let project: string;
let server: StartedEmbedded | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "whaleshark-server-client-package-"));
  const started = startEmbedded(APP);
  project = await installPacked("@whaleshark/server-client", work);
  server = await started;
}, 240_000);

afterAll(async () => {
  server?.cli.child.kill("SIGTERM");
  const exited = await server?.cli.exited;
  if (work) await rm(work, { recursive: true, force: true });
  expect(exited?.code ?? 0).toBe(0);
}, 30_000);

describe("the packed @whaleshark/server-client tarball in an empty project", () => {
  it("depends only on grpc-js and protobuf, pinned as the server pins them", async () => {
    const installed = join(project, "node_modules/@whaleshark/server-client");
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toEqual({
      "@bufbuild/protobuf": root.dependencies["@bufbuild/protobuf"],
      "@grpc/grpc-js": root.dependencies["@grpc/grpc-js"],
    });
    const js = await readFile(join(installed, "dist/index.js"), "utf8");
    const bare = [...js.matchAll(/from "([^".][^"]*)"/g)].map((m) => m[1]);
    expect(new Set(bare)).toEqual(
      new Set(["@grpc/grpc-js", "@bufbuild/protobuf/wire", "node:crypto", "node:zlib"]),
    );
  });

  it("tsc type-checks an app server against the package's declarations (and rejects wrong calls)", async () => {
    expect(await typecheck(project, { "typed-app-server.ts": TYPED_APP_SERVER })).toBe("");
  }, 120_000);

  it("sets up users, sends as the admin, reads as a user, against `whaleshark start`", async () => {
    await writeFile(join(project, "app-server.mjs"), APP_SERVER_SCRIPT);
    const config = {
      domain: server?.domain,
      appId: APP.appId,
      key: APP.privateKey,
      adminId: APP.adminIds[0],
    };
    const { stdout } = await run(process.execPath, ["app-server.mjs"], {
      cwd: project,
      env: { ...process.env, APP_CONFIG: JSON.stringify(config) },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")).toEqual({
      created: ["pc-alice", "pc-bob"],
      existing: ["pc-alice"],
      friends: [true, true],
      sent: true,
      deduped: true,
      info: ["pc-alice"],
      refused: { grpc: 7, whaleshark: "40008" },
      badOption: "appId",
      unreachable: true,
    });
  }, 90_000);
});
