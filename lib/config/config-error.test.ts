import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./index.js";

const emptyDir = () => mkdtempSync(join(tmpdir(), "ws-config-"));

/** Runs loadConfig in an empty directory and returns the one-line message of the ConfigError. */
function messageOf(opts: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig({ cwd: emptyDir(), env: {}, ...opts });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { message } = error as ConfigError;
    expect(message).not.toMatch(/[\r\n]/);
    return message;
  }
  throw new Error("expected a ConfigError");
}

describe("ConfigError messages", () => {
  it("names database.url and WHALESHARK_DATABASE_URL when distributed lacks a database", () => {
    const message = messageOf({
      env: {
        WHALESHARK_PROFILE: "distributed",
        WHALESHARK_APPS: '{"1":{"privateKey":"12345678"}}',
        WHALESHARK_REDIS_URL: "redis://r:6379",
        WHALESHARK_AMQP_URL: "amqp://q:5672",
      },
    });
    expect(message).toContain("database.url");
    expect(message).toContain("WHALESHARK_DATABASE_URL");
    expect(message).toMatch(
      /^config: database\.url \(WHALESHARK_DATABASE_URL\): expected .*postgres.*, got nothing$/,
    );
  });

  it("names apps when distributed has no apps (no demo key there)", () => {
    const message = messageOf({ env: { WHALESHARK_PROFILE: "distributed" } });
    expect(message).toMatch(/^config: apps \(WHALESHARK_APPS\): expected at least one app/);
  });

  it("names the key, the variable, the expectation and the value of a bad port", () => {
    expect(messageOf({ env: { WHALESHARK_GATEWAY__TCP_PORT: "abc" } })).toBe(
      'config: gateway.tcpPort (WHALESHARK_GATEWAY__TCP_PORT): expected an integer from 0 to 65535, got "abc"',
    );
    expect(messageOf({ overrides: { gateway: { wsPort: 70000 } } })).toBe(
      "config: gateway.wsPort (overrides): expected an integer from 0 to 65535, got 70000",
    );
  });

  it("names an unknown key in a file, and the file", () => {
    const dir = emptyDir();
    const file = join(dir, "ws.yaml");
    writeFileSync(file, "gateway:\n  tcpPorts: 1\n");
    const message = messageOf({ file });
    expect(message).toContain("gateway.tcpPorts");
    expect(message).toContain(file);
    expect(message).toContain("unknown key");
    expect(messageOf({ file: writeTo(dir, "top.yaml", "gatway: {}\n") })).toContain("config: gatway (");
  });

  it("names an unknown WHALESHARK_*__* variable", () => {
    expect(messageOf({ env: { WHALESHARK_GATEWAY__TCP_PROT: "1" } })).toContain(
      "WHALESHARK_GATEWAY__TCP_PROT",
    );
    expect(messageOf({ env: { WHALESHARK_NOPE__X: "1" } })).toContain("WHALESHARK_NOPE__X");
  });

  it("rejects a bad enum, a bad URL scheme, and a worker id out of its 5 bits", () => {
    expect(messageOf({ env: { WHALESHARK_LOG__LEVEL: "loud" } })).toMatch(
      /^config: log\.level .*got "loud"$/,
    );
    expect(messageOf({ env: { WHALESHARK_WORKER_ID: "32" } })).toMatch(
      /^config: workerId .*0 to 31, got 32$/,
    );
    expect(messageOf({ env: { WHALESHARK_REDIS_URL: "http://x" } })).toMatch(/^config: redis\.url /);
  });

  it("never prints a private key, a secret or a URL password", () => {
    const short = messageOf({ env: { WHALESHARK_APPS: '{"1":{"privateKey":"tiny"}}' } });
    expect(short).toContain("apps.1.privateKey");
    expect(short).not.toContain("tiny");
    const badJson = messageOf({ env: { WHALESHARK_APPS: '{"1":{"privateKey":"s3cr3t-key"' } });
    expect(badJson).not.toContain("s3cr3t-key");
    const url = messageOf({ env: { WHALESHARK_DATABASE_URL: "mysql://u:hunter22@db/x" } });
    expect(url).not.toContain("hunter22");
    // A secret too short to be accepted is still a secret (it may be a real one, mistyped).
    const secret = messageOf({ env: { WHALESHARK_DOMAIN__INTERNAL_SECRET: "short-s3cret" } });
    expect(secret).toContain("domain.internalSecret");
    expect(secret).toContain("a string of 12 characters");
    expect(secret).not.toContain("short-s3cret");
  });

  it("reports a missing explicit file instead of falling back to defaults", () => {
    expect(messageOf({ file: join(emptyDir(), "missing.yaml") })).toMatch(/missing\.yaml.*ENOENT$/);
  });

  it("rejects conflicting named and generic variables for one key", () => {
    const message = messageOf({
      env: { WHALESHARK_DATABASE_URL: "postgres://a/x", WHALESHARK_DATABASE__URL: "postgres://b/x" },
    });
    expect(message).toContain("database.url");
  });
});

function writeTo(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
