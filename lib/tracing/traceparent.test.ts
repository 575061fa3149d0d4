import { describe, expect, it } from "vitest";
import {
  batchTraceHeaders,
  formatTraceparent,
  itemTraceparents,
  parseTraceparent,
  TRACEPARENT,
  TRACEPARENTS,
  traceHeaders,
} from "./traceparent.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
const SAMPLED = `00-${TRACE}-${SPAN}-01`;

describe("traceparent", () => {
  it("formats and parses the W3C example", () => {
    const sc = parseTraceparent(SAMPLED);
    expect(sc).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true });
    expect(formatTraceparent(sc as NonNullable<typeof sc>)).toBe(SAMPLED);
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, traceFlags: 0 })).toBe(`00-${TRACE}-${SPAN}-00`);
  });

  it("refuses what the spec says a parser must refuse", () => {
    for (const bad of [
      undefined,
      "",
      "garbage",
      `ff-${TRACE}-${SPAN}-01`, // version ff
      `00-${"0".repeat(32)}-${SPAN}-01`, // all-zero trace id
      `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero span id
      `00-${TRACE.toUpperCase()}-${SPAN}-01`, // upper case
      `00-${TRACE}-${SPAN}-01-extra`, // fields after version 00
      `00-${TRACE}-${SPAN}`,
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });

  it("accepts a later version with more fields, reading the known ones", () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.spanId).toBe(SPAN);
  });

  it("keeps tracestate with the context and writes it back", () => {
    const sc = parseTraceparent(SAMPLED, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    expect(sc?.traceState?.get("congo")).toBe("t61rcWkgMzE");
    expect(traceHeaders(sc as NonNullable<typeof sc>)).toEqual({
      traceparent: SAMPLED,
      tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
    });
    expect(traceHeaders({ traceId: TRACE, spanId: SPAN, traceFlags: 1 })).toEqual({ traceparent: SAMPLED });
  });
});

describe("batch trace headers", () => {
  const other = `00-${"a".repeat(32)}-${"b".repeat(16)}-01`;

  it("carry nothing when no item is traced, one traceparent when all share it", () => {
    expect(batchTraceHeaders([])).toBeUndefined();
    expect(batchTraceHeaders([undefined, undefined])).toBeUndefined();
    expect(batchTraceHeaders([SAMPLED])).toEqual({ [TRACEPARENT]: SAMPLED });
    expect(batchTraceHeaders([SAMPLED, SAMPLED])).toEqual({ [TRACEPARENT]: SAMPLED });
  });

  it("carry one entry per item otherwise, holes and all, and read back per item", () => {
    const sparse: (string | undefined)[] = [];
    sparse[1] = other;
    sparse[3] = SAMPLED;
    const headers = batchTraceHeaders(sparse) ?? {};
    expect(headers).toEqual({ [TRACEPARENTS]: `-,${other},-,${SAMPLED}` });
    const at = itemTraceparents((name) => headers[name]);
    expect([0, 1, 2, 3, 4].map(at)).toEqual([undefined, other, undefined, SAMPLED, undefined]);
  });

  it("read a lone traceparent as every item's, and nothing from untraced headers", () => {
    const lone = itemTraceparents((name) => (name === TRACEPARENT ? SAMPLED : undefined));
    expect([lone(0), lone(7)]).toEqual([SAMPLED, SAMPLED]);
    expect(itemTraceparents(() => undefined)(0)).toBeUndefined();
  });
});
