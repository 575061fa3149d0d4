import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, readmeCommands, run } from "./support/pack.js";

/**
 * README "Clients in other languages": the Python `buf generate` template, as the README prints
 * it, generates stubs from proto/ with local plugins only, and Debian's Python imports them and
 * builds a service stub. Calling the domain from Python is test/domain/polyglot.test.ts's part.
 * Fails, never skips, without the tools (scripts/services.sh installs them).
 */
const PYTHON = "/usr/bin/python3";
let work: string | undefined;

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The README's yaml block right after the line naming `file`. */
async function template(file: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = readme.match(
    new RegExp(`as \`${file.replace(".", "\\.")}\`:\\s*\`\`\`yaml\\n([\\s\\S]*?)\`\`\``),
  );
  if (!block?.[1]) throw new Error(`README.md shows no ${file}`);
  return block[1];
}

describe("the README's buf generate template for Python", () => {
  it("generates stubs that Debian's Python imports", async () => {
    expect(existsSync("/usr/bin/grpc_python_plugin"), "protobuf-compiler-grpc (scripts/services.sh)").toBe(
      true,
    );
    work = await mkdtemp(join(tmpdir(), "whaleshark-buf-python-"));
    await writeFile(join(work, "buf.gen.python.yaml"), await template("buf.gen.python.yaml"));
    const [command, ...more] = await readmeCommands("buf-python-template");
    expect(more).toEqual([]);
    expect(command).toBe(
      "npx buf generate --template buf.gen.python.yaml --path proto/whaleshark -o clients",
    );
    // As written, from the repository (buf.yaml), with the template and the output in the test's folder.
    const args = (command as string)
      .split(" ")
      .slice(1)
      .map((a) =>
        a === "buf.gen.python.yaml" ? join(work as string, a) : a === "clients" ? join(work as string, a) : a,
      );
    await run("npx", args, { cwd: ROOT, timeout: 120_000 });
    const stubs = join(work, "clients/gen/python");
    expect(existsSync(join(stubs, "whaleshark/v1/user_service_pb2_grpc.py"))).toBe(true);
    expect(existsSync(join(stubs, "google/api/annotations_pb2.py"))).toBe(true);
    const script = [
      "import grpc",
      "from whaleshark.v1 import user_service_pb2 as u, user_service_pb2_grpc as g",
      "stub = g.UserServiceStub(grpc.insecure_channel('127.0.0.1:1'))",
      "req = u.GetUserInfoRequest(user_ids=['alice'])",
      "print(type(stub).__name__, list(req.user_ids), u.GetUserInfoRequest.FromString(req.SerializeToString()) == req)",
    ].join("\n");
    const py = spawnSync(PYTHON, ["-c", script], {
      env: { ...process.env, PYTHONPATH: stubs },
      encoding: "utf8",
    });
    expect(py.stderr).toBe("");
    expect(py.stdout.trim()).toBe("UserServiceStub ['alice'] True");
  }, 150_000);
});
