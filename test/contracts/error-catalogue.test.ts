import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../gen/ts/whaleshark/v1/error_code.js";
import { ErrorCatalogue as catalogue } from "../../lib/errors/index.js";

// lib/errors stays free of generated code (the browser SDK uses it), so this
// test is what keeps the TypeScript catalogue and the proto enum the same list.
describe("error catalogue and proto ErrorCode agree", () => {
  const protoCodes = Object.entries(ErrorCode)
    .filter(
      ([name, value]) =>
        typeof value === "number" && name !== "ERROR_CODE_UNSPECIFIED" && name !== "UNRECOGNIZED",
    )
    .map(([name, value]) => [name.replace(/^ERROR_CODE_/, ""), value as number] as const)
    .sort((a, b) => a[1] - b[1]);
  const catalogueCodes = Object.entries(catalogue)
    .map(([name, entry]) => [name, entry.code] as const)
    .sort((a, b) => a[1] - b[1]);

  it("has the same names at the same numbers", () => {
    expect(catalogueCodes).toEqual(protoCodes);
  });

  it.each(protoCodes)("%s (%i) has a message and a gRPC status", (name) => {
    const entry = catalogue[name as keyof typeof catalogue];
    expect(entry.message.length).toBeGreaterThan(0);
    expect(Number.isInteger(entry.grpc)).toBe(true);
  });
});
