/**
 * Entry of a forked load-generator process (bench/load/agents.ts forks it with tsx): it answers
 * `{id, request}` messages with `{id, ok, value | error}` and sends its counters every 500 ms.
 */
import type { AgentRequest } from "./agent-protocol.js";
import { LoadAgent } from "./load-agent.js";

const agent = new LoadAgent();
const send = (message: unknown) => process.send?.(message);
const ticker = setInterval(() => send({ counters: agent.counters }), 500);

process.on("message", (message: { id: number; request: AgentRequest }) => {
  agent.handle(message.request).then(
    (value) => {
      send({ counters: agent.counters });
      send({ id: message.id, ok: true, value });
      if (message.request.op === "close") {
        clearInterval(ticker);
        setTimeout(() => process.exit(0), 100);
      }
    },
    (error: unknown) => send({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) }),
  );
});
process.on("disconnect", () => process.exit(0));
