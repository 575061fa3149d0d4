import { fill, h } from "./dom.js";

interface Ops {
  connections?: number;
  messagesPerSecond?: number;
  deliveryLagMs?: { p50: number; p99: number } | null;
  at?: number;
}

/**
 * The operations view: polls /console/ops.json every 2 s while it is shown (the server computes
 * the figures from its own Prometheus registry). Returns a function that stops polling.
 */
export function pollOps(target: HTMLElement, everyMs = 2000): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      const res = await fetch("/console/ops.json", { cache: "no-store" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      show(target, (await res.json()) as Ops);
    } catch (error) {
      fill(target, h("dt", {}, "error"), h("dd", {}, `ops.json: ${String(error)}`));
    }
    if (!stopped) timer = setTimeout(tick, everyMs);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function show(target: HTMLElement, ops: Ops): void {
  const lag = ops.deliveryLagMs;
  fill(
    target,
    h("dt", {}, "Connections"),
    h("dd", { "data-ops": "connections" }, String(ops.connections ?? "–")),
    h("dt", {}, "Messages / s"),
    h("dd", { "data-ops": "rate" }, (ops.messagesPerSecond ?? 0).toFixed(1)),
    h("dt", {}, "Delivery lag p50 / p99"),
    h("dd", {}, lag ? `${lag.p50.toFixed(0)} ms / ${lag.p99.toFixed(0)} ms` : "no deliveries yet"),
    h("dt", {}, "At"),
    h("dd", {}, ops.at ? new Date(ops.at).toLocaleTimeString() : "–"),
  );
}
