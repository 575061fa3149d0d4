import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Config, type DeepPartial, loadConfig } from "../lib/config/index.js";
import { runAdminCommand, targetOf } from "./admin-commands.js";

const cwd = mkdtempSync(join(tmpdir(), "ws-admin-cmd-"));
const configOf =
  (overrides: DeepPartial<Config> = {}) =>
  () =>
    loadConfig({ cwd, env: {}, overrides, needs: ["apps"] });

/** Runs an admin command with its output captured. */
async function run(argv: string[], overrides: DeepPartial<Config> = {}) {
  let out = "";
  let err = "";
  const [command = "", ...rest] = argv;
  const code = await runAdminCommand(command, rest, configOf(overrides), {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe("whaleshark user|friend|group", () => {
  it("takes --url as host:port, with http:// tolerated, defaulting to the domain's port", () => {
    const config = configOf()();
    expect(targetOf(undefined, config)).toBe("127.0.0.1:18000");
    expect(targetOf("http://10.0.0.5:18000/", config)).toBe("10.0.0.5:18000");
    expect(targetOf("[::1]:18000", config)).toBe("[::1]:18000");
    expect(() => targetOf("nowhere", config)).toThrow(/--url must be host:port/);
  });

  it("refuses bad usage with exit code 2 and says what is wrong, before calling anything", async () => {
    const cases: Array<[string[], string]> = [
      [["user"], 'unknown command "user "'],
      [["user", "delete", "x"], 'unknown command "user delete"'],
      [["user", "add"], "give at least one user id"],
      [["user", "add", "a", "b", "--nickname", "N"], "--nickname takes one user id"],
      [["user", "add", "has space"], 'bad user id "has space"'],
      [["friend", "add", "alice"], "give two user ids"],
      [["friend", "add", "alice", "alice"], "their own friend"],
      [["group", "create", "G"], "--owner ID is required"],
      [["group", "create", "--owner", "alice"], "give the group's name"],
      [["user", "add", "x", "--url", "bad url"], "--url must be host:port"],
      [["user", "add", "x", "--app", "abc"], "--app must be a numeric app id"],
      [["user", "add", "x", "--app", "42"], "app 42 is not configured"],
      [["user", "add", "x", "--bogus"], "Unknown option '--bogus'"],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toContain(message);
      expect(r.out).toBe("");
    }
  });

  it("needs an admin of the app: from the config, or --admin", async () => {
    const noAdmin = { apps: { "10001": { privateKey: "a-long-private-key" } } };
    const r = await run(["user", "add", "x"], noAdmin);
    expect(r.code).toBe(2);
    expect(r.err).toContain("app 10001 has no admin: set apps.10001.adminIds or pass --admin ID");
    // With --admin the command goes on to the server, which is not there: exit 1, a clear reason.
    const down = await run(["user", "add", "x", "--admin", "ops", "--url", "127.0.0.1:1"], noAdmin);
    expect(down.code).toBe(1);
    expect(down.err).toContain("cannot reach the server at 127.0.0.1:1");
  });
});
