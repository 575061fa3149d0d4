import { describe, expect, it } from "vitest";
import { Histogram } from "../lib/histogram.js";
import type { P2PResult } from "../load/agent-protocol.js";
import { cpuMsPerMessage, merge, rows, type Step } from "./p2p-report.js";

const result = (delivered: number, seconds: number): P2PResult => {
  const empty = new Histogram().toData();
  return merge([
    {
      offered: delivered,
      sent: delivered,
      skipped: 0,
      acked: delivered,
      refused: 0,
      ackTimeouts: 0,
      otherFailures: 0,
      failures: {},
      delivered,
      viaSync: 0,
      duplicated: 0,
      outOfOrder: 0,
      sequenceOutOfOrder: 0,
      lost: 0,
      unacked: 0,
      ack: empty,
      deliver: empty,
      sendLag: empty,
      sendStartMs: 1_000,
      sendEndMs: 1_000 + seconds * 1000,
      lastAckMs: 1_000 + seconds * 1000,
      lastDeliverMs: 1_000 + seconds * 1000,
    },
  ]);
};

describe("CPU ms per delivered message", () => {
  it("is (server CPU % + infra CPU %) × 10 / delivered per second", () => {
    // 150 % of a core = 1 500 ms of CPU a second; 50 % infra = 500 ms; over 1 000 messages a second.
    const cpu = {
      servers: { "gateway-1": 100, domain: 50 },
      infra: { postgres: 30, "redis-server": 20 },
      generator: 80,
    };
    expect(cpuMsPerMessage(cpu, 1_000)).toBe(2);
    expect(cpuMsPerMessage({ servers: { whaleshark: 95 }, infra: {}, generator: 40 }, 2_500)).toBe(0.38);
    expect(cpuMsPerMessage(cpu, 0)).toBeUndefined();
  });

  it("is a column of the counts row, next to the CPU shares it comes from", () => {
    const step: Step = {
      phase: "fixed",
      rate: 500,
      result: result(5_000, 10),
      cpu: { servers: { whaleshark: 60 }, infra: {}, generator: 30 },
      failedBecause: [],
    };
    const { latency, counts } = rows(step);
    expect(latency).toMatchObject({ phase: "fixed", "offered/s": 500, "delivered/s": 500 });
    expect(counts).toMatchObject({ "server CPU %": 60, "CPU ms/msg": 1.2, "generator CPU %": 30 });
    expect(Object.keys(counts).slice(-3)).toEqual(["server CPU %", "CPU ms/msg", "generator CPU %"]);
    const led = rows(step, { conversations: 20, window: 256 });
    expect(Object.keys(led.counts).slice(0, 3)).toEqual(["conversations", "window", "sent"]);
  });
});
