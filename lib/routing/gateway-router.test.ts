import { describe, expect, it } from "vitest";
import { isImError } from "../errors/index.js";
import { type GatewayEndpoint, GatewayRouter, RouteModels } from "./gateway-router.js";

const gw = (nodeId: string, port: number): GatewayEndpoint => ({
  nodeId,
  host: "127.0.0.1",
  port,
  transport: "tcp",
});
const A = gw("gw-a", 19001);
const B = gw("gw-b", 19011);
const C = gw("gw-c", 19021);

function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("GatewayRouter", () => {
  it("HASH follows the original ring: u1 → 127.0.0.1:19011, 10001 → 127.0.0.1:19001", () => {
    const router = new GatewayRouter(RouteModels.HASH);
    expect(router.pick([A, B], "u1")).toBe(B);
    expect(router.pick([B, A], "10001")).toBe(A);
  });

  it("HASH gives the same endpoint for the same user across calls and routers", () => {
    const first = new GatewayRouter(RouteModels.HASH);
    const second = new GatewayRouter(RouteModels.HASH);
    for (let i = 0; i < 50; i++) {
      const user = `user${i}`;
      const pick = first.pick([A, B, C], user);
      expect(first.pick([C, B, A], user)).toBe(pick);
      expect(second.pick([B, C, A], user).nodeId).toBe(pick.nodeId);
    }
  });

  it("LOOP walks the sorted list starting at index 1, like incrementAndGet() % size", () => {
    const router = new GatewayRouter(RouteModels.LOOP);
    const picks = Array.from({ length: 6 }, () => router.pick([C, A, B], "u1").nodeId);
    expect(picks).toEqual(["gw-b", "gw-c", "gw-a", "gw-b", "gw-c", "gw-a"]);
  });

  it("RANDOM maps the random number uniformly onto the sorted list", () => {
    const values = [0, 0.34, 0.67, 0.9999];
    const router = new GatewayRouter(RouteModels.RANDOM, () => values.shift() ?? 0);
    const picks = Array.from({ length: 4 }, () => router.pick([B, C, A], "u1").nodeId);
    expect(picks).toEqual(["gw-a", "gw-b", "gw-c", "gw-c"]);
  });

  it.each([RouteModels.RANDOM, RouteModels.LOOP, RouteModels.HASH])(
    "model %i without a gateway fails with SERVER_NOT_AVAILABLE 71000",
    (model) => {
      const err = failure(() => new GatewayRouter(model).pick([], "u1"));
      expect(isImError(err) && err.code).toBe(71000);
    },
  );
});
