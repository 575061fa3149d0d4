import { describe, expect, it } from "vitest";
import { redactUrl } from "./redact-url.js";

describe("redactUrl", () => {
  it("replaces the password of a user:password URL and keeps the rest as written", () => {
    expect(redactUrl("postgresql://ws:db-pass@db:5432/ws")).toBe("postgresql://ws:[redacted]@db:5432/ws");
    expect(redactUrl("amqp://guest:guest@127.0.0.1:1")).toBe("amqp://guest:[redacted]@127.0.0.1:1");
    expect(redactUrl("https://otel:tok@c.example/v1/traces?a=b")).toBe(
      "https://otel:[redacted]@c.example/v1/traces?a=b",
    );
  });

  it("replaces a password given without a user name", () => {
    expect(redactUrl("rediss://:redis-pass@redis:6380/0")).toBe("rediss://:[redacted]@redis:6380/0");
  });

  it("keeps URLs without a password unchanged", () => {
    for (const url of ["redis://redis:6379", "amqp://ws@mq/vhost", "http://127.0.0.1:8500", "not a url"]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it("leaves an @ in the path or query alone", () => {
    expect(redactUrl("http://host/path@x?u=a:b@c")).toBe("http://host/path@x?u=a:b@c");
  });
});
