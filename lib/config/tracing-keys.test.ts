import { describe, expect, it } from "vitest";
import { configProblems, emptyConfigFolder } from "../testing/config-load.js";
import { loadConfig, redactConfig } from "./index.js";

const cwd = () => emptyConfigFolder("ws-tracing-");

const problems = configProblems;

// Issue 18 item 5: OpenTelemetry traces (docs/tracing.md).
describe("config keys of tracing", () => {
  it("default to off, a local collector, every trace, and no service name (the role's)", () => {
    expect(loadConfig({ cwd: cwd(), env: {} }).tracing).toEqual({
      enabled: false,
      otlpEndpoint: "http://localhost:4318/v1/traces",
      sampleRatio: 1,
    });
  });

  it("are read from the environment", () => {
    const env = {
      WHALESHARK_TRACING__ENABLED: "true",
      WHALESHARK_TRACING__OTLP_ENDPOINT: "https://collector.example:4318/v1/traces",
      WHALESHARK_TRACING__SERVICE_NAME: "whaleshark-eu",
      WHALESHARK_TRACING__SAMPLE_RATIO: "0.25",
    };
    expect(loadConfig({ cwd: cwd(), env }).tracing).toEqual({
      enabled: true,
      otlpEndpoint: "https://collector.example:4318/v1/traces",
      serviceName: "whaleshark-eu",
      sampleRatio: 0.25,
    });
  });

  it("refuse a ratio outside 0..1 and an endpoint that is not HTTP, naming the variable", () => {
    const env = { WHALESHARK_TRACING__SAMPLE_RATIO: "2", WHALESHARK_TRACING__OTLP_ENDPOINT: "grpc://c:4317" };
    expect(problems(() => loadConfig({ cwd: cwd(), env }))).toEqual([
      expect.stringMatching(
        /^config: tracing\.otlpEndpoint \(WHALESHARK_TRACING__OTLP_ENDPOINT\): expected a http:\/\/ or https:\/\/ URL/,
      ),
      expect.stringMatching(
        /^config: tracing\.sampleRatio \(WHALESHARK_TRACING__SAMPLE_RATIO\): expected a number from 0 to 1/,
      ),
    ]);
  });

  it("keep a password in the endpoint out of logged configuration", () => {
    const env = { WHALESHARK_TRACING__OTLP_ENDPOINT: "https://otel:collector-pass@c.example/v1/traces" };
    const config = loadConfig({ cwd: cwd(), env });
    expect(redactConfig(config).tracing.otlpEndpoint).toBe("https://otel:[redacted]@c.example/v1/traces");
  });
});
