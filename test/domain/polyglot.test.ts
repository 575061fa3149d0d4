import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ID, CONFIG_ADMIN, type DomainHarness, PRIVATE_KEY, startDomainHarness } from "./harness.js";

/**
 * A client in another language (issue: polyglot): test/domain/polyglot/client.py
 * uses Debian's python3-grpcio with stubs that Debian's protoc generates from
 * proto/ alone, signs its own userSign, and creates users and a friendship.
 *
 * Needs `python3-grpcio python3-protobuf protobuf-compiler
 * protobuf-compiler-grpc` (apt); Debian's /usr/bin/python3 on purpose, since
 * another python3 first on PATH may not see Debian's packages. Without them
 * the test fails and says which one is missing.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const PLUGIN = "/usr/bin/grpc_python_plugin";

function missingTools(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  if (!existsSync(PLUGIN)) return `${PLUGIN} is missing (protobuf-compiler-grpc)`;
  if (spawnSync("protoc", ["--version"]).status !== 0) return "protoc is missing (protobuf-compiler)";
  if (spawnSync(PYTHON, ["-c", "import grpc, google.protobuf"]).status !== 0)
    return "python3-grpcio is missing";
  return undefined;
}

describe("a Python client generated from proto/", () => {
  // `npm test` installs the tools (scripts/services.sh); a machine without
  // them fails here instead of passing by skipping.
  it("has Debian's Python gRPC tools", () => {
    expect(missingTools(), "run scripts/services.sh (as root) to install them").toBeUndefined();
  });

  let h: DomainHarness;
  let stubs: string;

  beforeAll(async () => {
    h = await startDomainHarness();
    stubs = mkdtempSync(join(tmpdir(), "ws-py-"));
    // The services the client calls and what they import: Google's HTTP annotations come from
    // the npm package google-proto-files (buf.yaml), which also holds descriptor.proto, so no
    // libprotobuf-dev include folder is needed; their Python stubs are generated beside ours.
    const protos = [
      ...["enums", "model", "user_service", "friendship_service"].map(
        (f) => `proto/whaleshark/v1/${f}.proto`,
      ),
      "google/api/annotations.proto",
      "google/api/http.proto",
    ];
    execFileSync(
      "protoc",
      [
        "-I",
        "proto",
        "-I",
        "node_modules/google-proto-files",
        `--python_out=${stubs}`,
        `--grpc_python_out=${stubs}`,
        `--plugin=protoc-gen-grpc_python=${PLUGIN}`,
        ...protos,
      ],
      { cwd: ROOT },
    );
  });

  afterAll(async () => {
    await h?.close();
    if (stubs !== undefined) rmSync(stubs, { recursive: true, force: true });
  });

  it("signs its calls, imports users, makes them friends and sees the error trailer", async () => {
    const [a, b] = [h.id("py-a"), h.id("py-b")];
    // Asynchronously: the domain answering it runs in this very process.
    const { stdout: out } = await promisify(execFile)(
      PYTHON,
      [
        join(ROOT, "test/domain/polyglot/client.py"),
        stubs,
        h.address,
        String(APP_ID),
        PRIVATE_KEY,
        CONFIG_ADMIN,
        a,
        b,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(JSON.parse(out)).toEqual({
      imported: [a, b],
      requestSent: false,
      both: [1],
      refused: { status: "UNAUTHENTICATED", code: "60003" },
    });
    expect(await h.db.friendship.findFirstOrThrow({ where: { fromId: a, toId: b } })).toMatchObject({
      status: 1,
      remark: "from python",
    });
  });
});
