import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import { allowedOrigins, ORIGIN_PATTERN, originPolicy } from "./origin-policy.js";

describe("originPolicy (gateway.allowedOrigins)", () => {
  it("always allows requests without Origin (non-browser clients)", () => {
    expect(originPolicy([]).allows(undefined)).toBe(true);
    expect(originPolicy([]).allows("https://app.example.com")).toBe(false);
  });

  it("* allows every origin", () => {
    expect(originPolicy(["*"]).allows("http://localhost:5173")).toBe(true);
    expect(originPolicy(["*"]).allows("null")).toBe(true);
  });

  it("matches exact origins by scheme, host and port, case-insensitively", () => {
    const p = originPolicy(["https://App.Example.com", "http://localhost:8080"]);
    expect(p.allows("https://app.example.com")).toBe(true);
    expect(p.allows("HTTPS://APP.EXAMPLE.COM")).toBe(true);
    expect(p.allows("http://app.example.com")).toBe(false);
    expect(p.allows("https://app.example.com:8443")).toBe(false);
    expect(p.allows("https://app.example.com.evil.io")).toBe(false);
    expect(p.allows("http://localhost:8080")).toBe(true);
    expect(p.allows("http://localhost")).toBe(false);
    expect(p.allows("null")).toBe(false);
  });

  it("https://*.example.com matches subdomains only, on that scheme and port", () => {
    const p = originPolicy(["https://*.example.com"]);
    expect(p.allows("https://a.example.com")).toBe(true);
    expect(p.allows("https://a.b.example.com")).toBe(true);
    expect(p.allows("https://example.com")).toBe(false);
    expect(p.allows("https://evilexample.com")).toBe(false);
    expect(p.allows("http://a.example.com")).toBe(false);
    expect(p.allows("https://a.example.com:444")).toBe(false);
    expect(p.allows("https://evil.io/.example.com")).toBe(false);
    expect(p.allows("https://evil.io:1.example.com")).toBe(false);
  });

  it("defaults by profile: every origin embedded, none distributed, the configured list otherwise", () => {
    expect(allowedOrigins(undefined, "embedded")).toEqual(["*"]);
    expect(allowedOrigins(undefined, "distributed")).toEqual([]);
    expect(allowedOrigins(["https://a.io"], "embedded")).toEqual(["https://a.io"]);
  });

  it("ORIGIN_PATTERN and the config schema accept the documented entry shapes only", () => {
    const accepted = (entry: string) => {
      try {
        loadConfig({ env: {}, cwd: "/", overrides: { gateway: { allowedOrigins: [entry] } } });
        return true;
      } catch {
        return false;
      }
    };
    for (const ok of ["*", "https://a.io", "http://localhost:3000", "https://*.a.io", "app://x"]) {
      expect(ORIGIN_PATTERN.test(ok), ok).toBe(true);
      expect(accepted(ok), ok).toBe(true);
    }
    for (const bad of ["a.io", "https://a.io/", "https://*", "*.a.io", "https://a.*.io", ""]) {
      expect(ORIGIN_PATTERN.test(bad), bad).toBe(false);
      expect(accepted(bad), bad).toBe(false);
    }
  });
});
