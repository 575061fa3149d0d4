import zookeeper from "node-zookeeper-client";
import { describe, expect, it } from "vitest";
import { isConnectionLoss, retryOnConnectionLoss, ZookeeperError } from "./client.js";

/** A failure as the client reports it (an Exception, wrapped as the adapter wraps it). */
const failure = (code: number) => {
  const name = code === zookeeper.Exception.NO_NODE ? "NO_NODE" : "CONNECTION_LOSS";
  return new ZookeeperError(new zookeeper.Exception(code, name, () => undefined), "mkdirp /x");
};

describe("retryOnConnectionLoss", () => {
  it("runs a request again after connection losses and timeouts, and resolves with its answer", async () => {
    const codes = [zookeeper.Exception.CONNECTION_LOSS, zookeeper.Exception.OPERATION_TIMEOUT];
    const retried: number[] = [];
    const answer = await retryOnConnectionLoss(
      async () => {
        const code = codes.shift();
        if (code !== undefined) throw failure(code);
        return "created";
      },
      5_000,
      (_err, retry) => retried.push(retry),
    );
    expect(answer).toBe("created");
    expect(retried).toEqual([1, 2]);
  });

  it("throws any other failure at once, and a connection loss past its time", async () => {
    let calls = 0;
    const noNode = retryOnConnectionLoss(async () => {
      calls++;
      throw failure(zookeeper.Exception.NO_NODE);
    }, 5_000);
    await expect(noNode).rejects.toThrow("NO_NODE");
    expect(calls).toBe(1);
    const lost = retryOnConnectionLoss(async () => {
      throw failure(zookeeper.Exception.CONNECTION_LOSS);
    }, 0);
    await expect(lost).rejects.toSatisfy(isConnectionLoss);
  });
});
