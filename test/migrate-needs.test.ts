import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../lib/testing/postgres.js";
import { isolatedEnv, runCli } from "./support/cli.js";

// `whaleshark migrate` in the distributed profile uses the database alone, so it must run with
// nothing but WHALESHARK_DATABASE_URL: no apps, no Redis, no AMQP (issue 18).
describe("whaleshark migrate (distributed) needs only the database URL", () => {
  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it("applies the migrations without apps, Redis or AMQP, and says what is missing without the URL", async () => {
    db = await createTestDatabase();
    const env = await isolatedEnv({ WHALESHARK_PROFILE: "distributed", WHALESHARK_DATABASE_URL: db.url });
    const r = await runCli(["migrate"], env, 60_000);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"msg":"migrations done"/);

    const bare = await runCli(["migrate"], await isolatedEnv({ WHALESHARK_PROFILE: "distributed" }));
    expect(r.code).toBe(0);
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^config: database\.url \(WHALESHARK_DATABASE_URL\)/),
    ]);
  }, 90_000);
});
