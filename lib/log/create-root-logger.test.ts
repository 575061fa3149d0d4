import { describe, expect, it } from "vitest";
import { connectionLogger, createRootLogger, prettyInstalled, roleLogger, wantsPretty } from "./index.js";

/** A destination that keeps every line in memory. */
function memoryStream() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

const records = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe("createRootLogger", () => {
  it("redacts userSign, privateKey, passwords and URLs at the top level and one level down", () => {
    const out = memoryStream();
    const log = createRootLogger({ level: "info", pretty: false }, { node: "n1" }, out);
    log.info({ userSign: "eJyrVgrxCdZLrSjILEpVsjI0gAIdsHBiQYFnCkTU", appId: 10001 }, "login");
    log.info({ app: { privateKey: "bantanger-secret", appId: 7 } }, "app");
    log.info(
      { privateKey: "top-level-key", req: { password: "pw-123", authorization: "Bearer tok-9" } },
      "x",
    );
    log.info({ database: { url: "postgres://u:db-pass@h/db" } }, "db");
    const text = out.lines.join("");
    for (const secret of ["eJyrVgrx", "bantanger-secret", "top-level-key", "pw-123", "tok-9", "db-pass"]) {
      expect(text).not.toContain(secret);
    }
    const [login, app] = records(out.lines);
    expect(login?.userSign).toBe("[redacted]");
    expect(login?.appId).toBe(10001);
    expect(app?.app).toEqual({ privateKey: "[redacted]", appId: 7 });
    expect(login?.node).toBe("n1");
    expect(login?.pid).toBe(process.pid);
  });

  it("binds role and connection ids on children and honours the level", () => {
    const out = memoryStream();
    const root = createRootLogger({ level: "info", pretty: false }, undefined, out);
    const conn = connectionLogger(roleLogger(root, "gateway"), {
      connId: "c-1",
      appId: 10001,
      userId: "u1",
      clientType: 1,
      imei: "web",
    });
    conn.debug("hidden at info");
    conn.info("frame");
    connectionLogger(root, { connId: "c-2" }).info("before login");
    const [frame, anonymous] = records(out.lines);
    expect(out.lines).toHaveLength(2);
    expect(frame).toMatchObject({ role: "gateway", connId: "c-1", appId: 10001, userId: "u1", imei: "web" });
    expect(anonymous?.connId).toBe("c-2");
    expect(anonymous).not.toHaveProperty("userId");
  });
});

describe("pretty or JSON", () => {
  it("is pretty on a terminal and JSON otherwise unless log.pretty says", () => {
    expect(wantsPretty({ level: "info" }, true)).toBe(true);
    expect(wantsPretty({ level: "info" }, false)).toBe(false);
    expect(wantsPretty({ level: "info", pretty: false }, true)).toBe(false);
    expect(wantsPretty({ level: "info", pretty: true }, false)).toBe(true);
  });

  it("falls back to JSON when pino-pretty is not installed", () => {
    expect(prettyInstalled()).toBe(true); // a dev dependency of this checkout
    const missing = (id: string): string => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
    };
    expect(prettyInstalled(missing)).toBe(false);
  });
});
