import type { WhaleSharkClient } from "../../sdk/index.js";
import { sleep } from "../lib/clock.js";
import type { AgentCounters, AgentRequest } from "./agent-protocol.js";
import { runFlood } from "./flood-load.js";
import { listenGroup, ReceiveTally, sendGroup } from "./group-load.js";
import { openClients } from "./open-clients.js";
import { runP2P } from "./p2p-load.js";
import { ProblemLog } from "./problem-log.js";
import { rawEcho, rawListen, rawSend } from "./raw-load.js";

/** Counters every agent starts from. */
export function zeroCounters(): AgentCounters {
  return { connected: 0, connectFailed: 0, dropped: 0, sent: 0, acked: 0, failed: 0, delivered: 0 };
}

/**
 * One load generator: the SDK clients it opened and the measurement in progress. The same class
 * runs inside the main process or in a forked worker (bench/load/agent-worker.ts); either way it
 * only answers AgentRequests, so a scenario does not care where its clients live.
 */
export class LoadAgent {
  readonly counters = zeroCounters();
  readonly #clients = new Map<string, WhaleSharkClient>();
  #closing = false;
  #tally: ReceiveTally | undefined;
  #stopListening: Array<() => void> = [];
  readonly #problems = new ProblemLog();

  /** Handles one request; the answer is JSON-serialisable (it may cross a process boundary). */
  async handle(request: AgentRequest): Promise<unknown> {
    switch (request.op) {
      case "open":
        return openClients(request.spec, this.#clients, this.counters, () => this.#closing, this.#problems);
      case "p2p":
        return runP2P(request.spec, this.#clients, this.counters);
      case "group-listen": {
        this.#tally ??= new ReceiveTally(this.counters);
        this.#stopListening.push(listenGroup(request.spec, this.#clients, this.#tally));
        return null;
      }
      case "group-send":
        return sendGroup(request.spec, this.#clients, this.counters);
      case "raw-echo":
        return rawEcho(request.spec, this.counters);
      case "raw-listen": {
        this.#tally ??= new ReceiveTally(this.counters);
        this.#stopListening.push(await rawListen(request.spec, this.#tally, this.counters));
        return null;
      }
      case "raw-send": {
        const { sent, sendStartMs, close } = await rawSend(request.spec, this.counters);
        this.#stopListening.push(close);
        return { sent, sendStartMs };
      }
      case "flood":
        return runFlood(request.spec, this.counters);
      case "group-collect":
      case "raw-collect": {
        for (const stop of this.#stopListening.splice(0)) stop();
        const result = (this.#tally ?? new ReceiveTally(this.counters)).result();
        this.#tally = undefined;
        return result;
      }
      case "errors":
        return this.#problems.drain();
      case "disconnect": {
        await this.close();
        this.#closing = false;
        return null;
      }
      case "close":
        return this.close();
    }
  }

  /** Closes every client (no LOGOUT: the gateway marks them offline as a dropped device). */
  async close(): Promise<null> {
    this.#closing = true;
    for (const stop of this.#stopListening.splice(0)) stop();
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
    await sleep(50);
    return null;
  }
}
