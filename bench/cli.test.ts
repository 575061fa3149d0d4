import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "./cli.js";
import { nice } from "./scenarios/p2p.js";

describe("parseBenchArgs", () => {
  it("applies the profile-dependent defaults", () => {
    const embedded = parseBenchArgs(["p2p"]);
    expect(embedded).toMatchObject({ profile: "embedded", gateways: 1, rate: 5000, durationMs: 20_000 });
    expect(embedded.phases).toEqual(["fixed", "ramp"]);
    const distributed = parseBenchArgs(["group", "--profile", "distributed"]);
    expect(distributed).toMatchObject({ gateways: 2, rate: 2, members: 1000, online: 100 });
    expect(parseBenchArgs(["p2p", "--profile", "distributed"]).rate).toBe(2000);
    // one-conn: as fast as the SDK's default window allows, 20 conversations.
    expect(parseBenchArgs(["one-conn"])).toMatchObject({ rate: 0, window: 256, conversations: 20 });
    expect(parseBenchArgs(["baseline"]).window).toBe(4);
    // flood: 50 other senders at 250/s in all beside one connection keeping 10,000 sends in flight.
    expect(parseBenchArgs(["flood"])).toMatchObject({
      pairs: 50,
      rate: 250,
      flood: 10_000,
      durationMs: 10_000,
    });
    expect(parseBenchArgs(["flood", "--flood", "500"]).flood).toBe(500);
    expect(
      parseBenchArgs(["one-conn", "--conversations", "3", "--window", "8", "--rate", "50"]),
    ).toMatchObject({ rate: 50, window: 8, conversations: 3 });
  });

  it("forks one load generator per 10k idle connections unless told", () => {
    expect(parseBenchArgs(["idle", "--connections", "25000"]).workers).toBe(3);
    expect(parseBenchArgs(["idle", "--connections", "25000", "--workers", "1"]).workers).toBe(1);
    expect(parseBenchArgs(["idle"]).workers).toBe(0);
  });

  it("takes server variables and switches", () => {
    const o = parseBenchArgs([
      "baseline",
      "--server-env",
      "WHALESHARK_GATEWAY__HEARTBEAT_TIMEOUT_MS=5000",
      "--cpu-prof",
      "--receive-ack",
      "off",
      "--encoding",
      "protobuf",
    ]);
    expect(o.serverEnv).toEqual({ WHALESHARK_GATEWAY__HEARTBEAT_TIMEOUT_MS: "5000" });
    expect(o).toMatchObject({ cpuProf: true, receiveAck: false, encoding: 1, redisCluster: false });
    expect(parseBenchArgs(["p2p", "--profile", "distributed", "--redis-cluster"]).redisCluster).toBe(true);
  });

  it("refuses unknown scenarios, profiles and options", () => {
    expect(() => parseBenchArgs(["nope"])).toThrow(/unknown scenario/);
    expect(() => parseBenchArgs(["idle", "--profile", "cloud"])).toThrow(/unknown profile/);
    expect(() => parseBenchArgs(["p2p", "--redis-cluster"])).toThrow(/needs --profile distributed/);
    expect(() => parseBenchArgs(["idle", "--bogus", "1"])).toThrow();
    expect(() => parseBenchArgs(["idle", "--server-env", "PATH=/"])).toThrow(/WHALESHARK_/);
    expect(() => parseBenchArgs(["idle", "--rate=-3"])).toThrow(/non-negative/);
    expect(() => parseBenchArgs(["idle", "--rate", "lots"])).toThrow(/non-negative/);
  });
});

describe("ramp steps", () => {
  it("round to two significant digits", () => {
    expect([100, 150, 225, 337.5, 5062.5].map(nice)).toEqual([100, 150, 230, 340, 5100]);
  });
});
