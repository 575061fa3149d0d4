import { describe, expect, it } from "vitest";
import { capToDescriptors, descriptorReserve, openFilesLimit } from "./descriptor-limit.js";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe("descriptor limit", () => {
  it("reads the soft open-files limit, undefined when unknown", () => {
    expect(openFilesLimit(() => LIMITS)).toBe(20_000);
    expect(openFilesLimit(() => LIMITS.replace("20000                20000", "unlimited unlimited"))).toBe(
      undefined,
    );
    expect(
      openFilesLimit(() => {
        throw new Error("ENOENT");
      }),
    ).toBe(undefined);
    // This process (Linux in CI): some positive number.
    expect(openFilesLimit() ?? 1).toBeGreaterThan(0);
  });

  it("keeps a reserve for everything but client connections", () => {
    expect(descriptorReserve(20_000)).toBe(2000);
    expect(descriptorReserve(4096)).toBe(1024);
    expect(descriptorReserve(1024)).toBe(512);
    expect(capToDescriptors(50_000, 20_000)).toBe(18_000);
    expect(capToDescriptors(50_000, 1_048_576)).toBe(50_000);
    expect(capToDescriptors(50_000, undefined)).toBe(50_000);
    expect(capToDescriptors(100, 1024)).toBe(100);
  });
});
