import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pino } from "pino";
import type { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { GatewayMetrics } from "../../gateway/gateway-metrics.js";
import { loadConfig } from "../../lib/config/index.js";
import { HttpMetrics } from "../../lib/http/metrics.js";
import { createMetricsRegistry } from "../../lib/metrics/index.js";
import { Callbacks } from "../../services/domain/callbacks/callbacks.js";
import { ConsumerMetrics } from "../../services/store/consumer/consumer-metrics.js";
import { type StartedEmbedded, startEmbedded } from "../support/cli.js";
import { ADMIN, TEST_APP } from "../support/harness/app.js";
import { asList, asNode, DEPLOY, type Node, ROOT } from "./deploy-support.js";

// The Grafana dashboard and the Prometheus rules are checked offline against the code: every
// series they name is one the roles register (with the labels they match and group by), every
// PromQL expression parses (promtool), the rules and the scrape config pass `promtool check`, and
// `promtool test rules` shows the alerts fire. promtool comes from Debian's `prometheus` package
// (scripts/services.sh installs it); without it this test fails rather than skips.

const MONITORING = join(DEPLOY, "monitoring");
const DASHBOARD = join(MONITORING, "grafana", "whaleshark.json");
const PROMETHEUS = join(MONITORING, "prometheus");
const ALERTS = join(PROMETHEUS, "alerts.yaml");
const scratch = mkdtempSync(join(tmpdir(), "whaleshark-monitoring-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The data source uid every panel and query uses: Grafana's placeholder, filled at import. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's input placeholder, not a JS template
const DS_UID = "${DS_PROMETHEUS}";

/** Labels every series has besides its own: the registry's defaults and the scrape's target labels. */
const COMMON_LABELS = ["role", "node", "job", "instance"];

interface Registered {
  type: string;
  labels: Set<string>;
}

type RoleName = "gateway" | "domain" | "store";

/**
 * The registries of the three roles, filled by the same classes the roles use (gateway/start.ts:
 * GatewayMetrics; services/domain/start.ts: the HTTP API's HttpMetrics and the callbacks'
 * histogram; services/store/start.ts: HttpMetrics and the consumer's counters), each made as the
 * roles make it (prom-client's process_* and nodejs_* series included). A running
 * `whaleshark start` is compared with them below, so they cannot drift from the roles.
 */
function roleRegistries(): Record<RoleName, Registry> {
  const logger = pino({ level: "silent" });
  const config = loadConfig({ env: {}, cwd: scratch });
  const gateway = createMetricsRegistry({ role: "gateway", nodeId: "t-gateway" });
  new GatewayMetrics(gateway);
  const domain = createMetricsRegistry({ role: "domain", nodeId: "t-domain" });
  new HttpMetrics(domain);
  new Callbacks(config.callbacks, logger).observeOn(domain);
  const store = createMetricsRegistry({ role: "store", nodeId: "t-store" });
  new HttpMetrics(store);
  new ConsumerMetrics(store);
  return { gateway, domain, store };
}

/** Every series of the registries by name, with its type and labels. */
function registeredSeries(registries: Registry[]): Map<string, Registered> {
  const out = new Map<string, Registered>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, type, labelNames } = metric as unknown as {
        name: string;
        type: string;
        labelNames?: string[];
      };
      const labels = new Set([...(out.get(name)?.labels ?? []), ...(labelNames ?? []), ...COMMON_LABELS]);
      out.set(name, { type: String(type), labels });
    }
  }
  return out;
}

/**
 * The modules above, as files: a new file that registers prom-client series must be added to
 * {@link roleRegistries} before a dashboard or a rule can use its series.
 */
const METRIC_MODULES = [
  "gateway/gateway-metrics.ts",
  "lib/http/metrics.ts",
  "lib/metrics/hot-counter.ts", // the Counter behind GatewayMetrics' per-frame series
  "services/domain/callbacks/callbacks.ts",
  "services/store/consumer/consumer-metrics.ts",
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** A series name as written in PromQL: histogram and summary parts map to their metric. */
function metricOf(name: string, registered: Map<string, Registered>): Registered | undefined {
  const direct = registered.get(name);
  if (direct !== undefined) return direct;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  const metric = registered.get(base);
  if (metric === undefined || !["histogram", "summary"].includes(metric.type)) return undefined;
  const extra = name.endsWith("_bucket") ? ["le"] : [];
  return { type: metric.type, labels: new Set([...metric.labels, ...extra]) };
}

const SERIES = /\b((?:whaleshark|process|nodejs)_[a-z0-9_]+)\b\s*(\{[^}]*\})?/g;
const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"/g;
const GROUPING = /\b(?:by|without)\s*\(([^)]*)\)/g;

/** What is wrong with one PromQL expression's series and labels; empty when nothing is. */
function problemsOf(expr: string, registered: Map<string, Registered>): string[] {
  const problems: string[] = [];
  const used = new Set<string>(COMMON_LABELS);
  for (const [, name = "", selector] of expr.matchAll(SERIES)) {
    const metric = metricOf(name, registered);
    if (metric === undefined) {
      problems.push(`${name} is not registered by any role`);
      continue;
    }
    for (const label of metric.labels) used.add(label);
    for (const [, label = ""] of (selector ?? "").matchAll(MATCHER)) {
      if (!metric.labels.has(label)) problems.push(`${name} has no label ${label}`);
    }
  }
  for (const [, list = ""] of expr.matchAll(GROUPING)) {
    for (const label of list.split(",").map((l) => l.trim())) {
      if (label !== "" && !used.has(label)) problems.push(`grouping by ${label}, which no series here has`);
    }
  }
  return problems;
}

/** Every double-quoted string of the roles' source (the code's style for every literal). */
function sourceLiterals(): Set<string> {
  const out = new Set<string>();
  for (const file of ["app", "lib", "gateway", "services"].flatMap(sourceFiles)) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const [, value = ""] of text.matchAll(/"([^"\\\n]*)"/g)) out.add(value);
  }
  return out;
}

const LITERAL_VALUES = /^[\w-]+(?:\|[\w-]+)*$/;

/**
 * Label values an expression matches that no code writes: for a matcher `label="a"` or
 * `label=~"a|b"` on a whaleshark series, each word must be a string literal of the source (an
 * error kind, a refusal reason, a method name, ...). Numbers (commands, error codes) and real
 * regular expressions are left to the reader.
 */
function valueProblemsOf(expr: string, literals: Set<string>): string[] {
  const problems: string[] = [];
  for (const [, name = "", selector = ""] of expr.matchAll(SERIES)) {
    if (!name.startsWith("whaleshark_")) continue;
    for (const [, label = "", op = "", value = ""] of selector.matchAll(
      /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g,
    )) {
      if (label === "node" || !LITERAL_VALUES.test(value)) continue;
      for (const word of value.split("|")) {
        if (!/^\d+$/.test(word) && !literals.has(word))
          problems.push(`${name}{${label}${op}"${word}"}: no code writes "${word}"`);
      }
    }
  }
  return problems;
}

/** Runs promtool; its output on failure. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync("promtool", args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (run.error !== undefined) {
    throw new Error(
      `promtool could not run (${run.error.message}): install Debian's prometheus package (scripts/services.sh does)`,
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
};
const queryPanels = dashboard.panels.filter((p) => p.type !== "row");
const dashboardExprs = queryPanels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr })),
);
const variableExprs = dashboard.templating.list
  .filter((v) => v.type === "query")
  .map((v) => ({ where: `variable ${v.name}`, expr: String(asNode(v.query).query ?? v.query) }));

const rules = asList(asNode(parse(readFileSync(ALERTS, "utf8"))).groups).flatMap((g) =>
  asList(asNode(g).rules).map((r) => asNode(r)),
);

describe("metric names: what the dashboard and the rules use is what the roles register", () => {
  const registries = roleRegistries();
  const registered = registeredSeries(Object.values(registries));

  it("knows every module that registers series", () => {
    const registering = ["app", "lib", "gateway", "services"]
      .flatMap(sourceFiles)
      .filter((file) =>
        /\bnew (?:Counter|Gauge|Histogram|Summary|HotCounter)\b/.test(readFileSync(join(ROOT, file), "utf8")),
      )
      .sort();
    expect(registering).toEqual([...METRIC_MODULES].sort());
    // The series the roles' panels are built on exist (a rename in the code fails here).
    for (const name of [
      "whaleshark_gateway_connections",
      "whaleshark_gateway_send_ack_seconds",
      "whaleshark_gateway_delivery_lag_seconds",
      "whaleshark_store_stored_total",
      "process_resident_memory_bytes",
    ]) {
      expect(registered.has(name), name).toBe(true);
    }
  });

  it("the dashboard's queries and variables name registered series and labels only", () => {
    expect(dashboardExprs.length).toBeGreaterThan(30);
    const problems = [...dashboardExprs, ...variableExprs].flatMap(({ where, expr }) =>
      problemsOf(expr, registered).map((p) => `${where}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("the alert rules and their unit tests name registered series and labels only", () => {
    const exprs = rules.map((r) => ({ where: `alert ${String(r.alert)}`, expr: String(r.expr) }));
    const tests = asList(asNode(parse(readFileSync(join(PROMETHEUS, "alerts.test.yaml"), "utf8"))).tests);
    const inputs = tests.flatMap((t) =>
      asList(asNode(t).input_series).map((s) => ({
        where: "alerts.test.yaml",
        expr: String(asNode(s).series),
      })),
    );
    const problems = [...exprs, ...inputs].flatMap(({ where, expr }) =>
      problemsOf(expr, registered).map((p) => `${where}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("the label values they match are ones the code writes", () => {
    const literals = sourceLiterals();
    expect(literals.has("send-shed")).toBe(true);
    const exprs = [
      ...dashboardExprs,
      ...rules.map((r) => ({ where: `alert ${String(r.alert)}`, expr: String(r.expr) })),
    ];
    const problems = exprs.flatMap(({ where, expr }) =>
      valueProblemsOf(expr, literals).map((p) => `${where}: ${p}`),
    );
    expect(problems).toEqual([]);
    expect(
      valueProblemsOf('rate(whaleshark_gateway_errors_total{kind=~"send-shed|send-shedd"}[5m])', literals),
    ).toEqual(['whaleshark_gateway_errors_total{kind=~"send-shedd"}: no code writes "send-shedd"']);
  });

  it("the jobs the alerts watch are the scrape configuration's", () => {
    const scrape = asList(
      asNode(parse(readFileSync(join(PROMETHEUS, "prometheus.yaml"), "utf8"))).scrape_configs,
    );
    const jobs = scrape.map((job) => String(asNode(job).job_name)).sort();
    expect(jobs).toEqual(["whaleshark-domain", "whaleshark-gateway", "whaleshark-store"]);
    const watched = new Set<string>();
    for (const rule of rules) {
      for (const [, op = "", value = ""] of String(rule.expr).matchAll(/\bup\{job(=~|=)"([^"]*)"\}/g)) {
        const pattern = new RegExp(
          `^(?:${op === "=" ? value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : value})$`,
        );
        const matched = jobs.filter((job) => pattern.test(job));
        expect(
          matched.length,
          `${String(rule.alert)}: job${op}"${value}" matches no scrape job`,
        ).toBeGreaterThan(0);
        for (const job of matched) watched.add(job);
      }
    }
    expect([...watched].sort()).toEqual(jobs);
  });

  it("finds a misspelt series or label (the check itself works)", () => {
    expect(problemsOf('rate(whaleshark_gateway_logins_totl{result="ok"}[5m])', registered)).toEqual([
      "whaleshark_gateway_logins_totl is not registered by any role",
    ]);
    expect(problemsOf('sum by (reason) (whaleshark_gateway_logins_total{reslt="ok"})', registered)).toEqual([
      "whaleshark_gateway_logins_total has no label reslt",
      "grouping by reason, which no series here has",
    ]);
    expect(problemsOf("whaleshark_store_stored_bucket", registered)).toEqual([
      "whaleshark_store_stored_bucket is not registered by any role",
    ]);
    expect(
      problemsOf('sum by (le) (whaleshark_gateway_send_ack_seconds_bucket{outcome="ok"})', registered),
    ).toEqual([]);
  });
});

describe("deploy/monitoring/grafana/whaleshark.json", () => {
  it("takes its Prometheus as the DS_PROMETHEUS input and variable, in every panel and query", () => {
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }),
    ]);
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", query: "prometheus" }),
    );
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: DS_UID });
      for (const t of panel.targets ?? []) expect(t.datasource?.uid, panel.title).toBe(DS_UID);
    }
  });

  it("the Grafana provider loads it from a folder", () => {
    const provisioning = asNode(
      parse(readFileSync(join(MONITORING, "grafana/provisioning/dashboards.yaml"), "utf8")),
    );
    expect(provisioning.apiVersion).toBe(1);
    const [provider] = asList(provisioning.providers).map(asNode);
    expect(provider).toMatchObject({ type: "file", options: { path: expect.stringMatching(/^\//) } });
  });

  it("has unique panel ids and a layout inside the 24-column grid", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
    }
  });

  it("covers connections, logins, messages, latencies, store, errors, refusals and processes", () => {
    const all = dashboardExprs.map((e) => e.expr).join("\n");
    for (const series of [
      "whaleshark_gateway_connections",
      "whaleshark_gateway_logins_total",
      "whaleshark_gateway_frames_in_total",
      "whaleshark_gateway_frames_out_total",
      "whaleshark_gateway_send_ack_seconds_bucket",
      "whaleshark_gateway_delivery_lag_seconds_bucket",
      "whaleshark_store_stored_total",
      "whaleshark_store_rejected_total",
      "whaleshark_gateway_errors_total",
      "whaleshark_gateway_forwards_total",
      "whaleshark_gateway_connections_refused_total",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
    ]) {
      expect(all, series).toContain(series);
    }
    expect(all).toContain('kind=~"send-shed|send-rate-exceeded"'); // 60006 refusals
  });

  it("every query is valid PromQL (promtool check rules on them as recording rules)", () => {
    // Grafana's variables replaced by what they expand to.
    const expand = (expr: string) => expr.replaceAll("$__rate_interval", "1m").replaceAll("$node", ".*");
    const recorded = dashboardExprs.map(({ expr }, i) => ({
      record: `dashboard:query_${i}`,
      expr: expand(expr),
    }));
    for (const r of recorded) expect(r.expr, r.expr).not.toContain("$");
    const file = join(scratch, "dashboard-queries.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: recorded }] }));
    const run = promtool("check", "rules", file);
    expect(run.output, run.output).toContain(`SUCCESS: ${recorded.length} rules found`);
    expect(run.status).toBe(0);
  });
});

describe("deploy/monitoring/prometheus", () => {
  it("every alert has a for:, a severity and a summary and description", () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      const name = String(rule.alert);
      expect(name, "only alerting rules").toMatch(/^WhaleShark[A-Za-z]+$/);
      expect(String(rule.for), name).toMatch(/^\d+[smh]$/);
      expect(["warning", "critical"], name).toContain(asNode(rule.labels).severity);
      const annotations: Node = asNode(rule.annotations);
      expect(String(annotations.summary ?? ""), name).not.toBe("");
      expect(String(annotations.description ?? ""), name).not.toBe("");
    }
  });

  it("warns at 90 % of the default gateway.maxConnections", () => {
    const max = loadConfig({ env: {}, cwd: scratch }).gateway.maxConnections;
    const rule = rules.find((r) => r.alert === "WhaleSharkGatewayConnectionsNearLimit");
    expect(String(rule?.expr)).toContain(`> ${Math.round(max * 0.9)}`);
  });

  it("alerts.yaml passes promtool check rules", () => {
    const run = promtool("check", "rules", ALERTS);
    expect(run.output, run.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(run.status).toBe(0);
  });

  it("prometheus.yaml passes promtool check config and scrapes the three roles on their metrics ports", () => {
    const run = promtool("check", "config", join(PROMETHEUS, "prometheus.yaml"));
    expect(run.output, run.output).toContain("is valid prometheus config file syntax");
    expect(run.status).toBe(0);
    const config = loadConfig({ env: {}, cwd: scratch }).metrics;
    const scrape = asList(
      asNode(parse(readFileSync(join(PROMETHEUS, "prometheus.yaml"), "utf8"))).scrape_configs,
    );
    const ports = Object.fromEntries(
      scrape.map((job) => {
        const targets = asList(asNode(asList(asNode(job).static_configs)[0]).targets).map(String);
        return [String(asNode(job).job_name), targets.map((t) => Number(t.split(":").pop()))];
      }),
    );
    expect(ports).toEqual({
      "whaleshark-gateway": [config.gatewayPort],
      "whaleshark-domain": [config.domainPort],
      "whaleshark-store": [config.storePort],
    });
  });

  it("the alerts fire as alerts.test.yaml expects (promtool test rules)", () => {
    const run = promtool("test", "rules", join(PROMETHEUS, "alerts.test.yaml"));
    expect(run.output, run.output).toContain("SUCCESS");
    expect(run.status).toBe(0);
  });

  it("the <!-- monitoring-checks --> block of deploy/README.md runs as written", () => {
    const readme = readFileSync(join(DEPLOY, "README.md"), "utf8");
    const block = readme.match(/<!-- monitoring-checks -->\s*```bash\n([\s\S]*?)```/)?.[1];
    if (block === undefined) throw new Error("deploy/README.md lost its <!-- monitoring-checks --> block");
    const commands = block
      .split("\n")
      .map((line) => line.replace(/\s+#\s.*$/, "").trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    expect(commands.every((c) => c.startsWith("promtool "))).toBe(true);
    for (const command of commands) {
      const run = promtool(...command.split(/\s+/).slice(1));
      expect(run.status, `${command}\n${run.output}`).toBe(0);
      expect(run.output).toContain("SUCCESS");
    }
  });

  it("promtool test rules fails on an alert that does not fire as expected (the check itself works)", () => {
    const tests = parse(readFileSync(join(PROMETHEUS, "alerts.test.yaml"), "utf8")) as Node;
    const broken: Node = { ...tests, rule_files: [ALERTS] };
    const first = asNode(asList(broken.tests)[0]);
    const evals = asList(first.alert_rule_test).map((e) => asNode(e));
    // The store's instance is down for minutes: claiming no alert at 5m must fail.
    const down = evals.find((e) => e.alertname === "WhaleSharkRoleDown");
    if (down === undefined) throw new Error("alerts.test.yaml lost its WhaleSharkRoleDown case");
    down.exp_alerts = [];
    const file = join(scratch, "broken.test.yaml");
    writeFileSync(file, stringify(broken));
    const run = promtool("test", "rules", file);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("WhaleSharkRoleDown");
  });
});

describe("a running `whaleshark start` serves the series these checks know", () => {
  let started: StartedEmbedded | undefined;
  afterAll(async () => {
    if (started === undefined || started.cli.child.exitCode !== null) return;
    started.cli.child.kill("SIGTERM");
    await started.cli.exited;
  });

  it("each role's /metrics names exactly the series of its registry above, with their types", async () => {
    started = await startEmbedded({ ...TEST_APP, adminIds: [ADMIN] });
    const cli = started.cli;
    await cli.waitForLog((l) => l.msg === "whaleshark started");
    const ports = cli.logs.filter((l) => l.msg === "metrics endpoint listening").map((l) => Number(l.port));
    expect(ports).toHaveLength(3);
    const served: Record<string, Record<string, string>> = {};
    for (const port of ports) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const role = text.match(/\brole="(\w+)"/)?.[1] ?? `unknown on ${port}`;
      served[role] = Object.fromEntries(
        [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name = "", type = ""]) => [name, type]),
      );
    }
    const expected = Object.fromEntries(
      Object.entries(roleRegistries()).map(([role, registry]) => [
        role,
        Object.fromEntries(registry.getMetricsAsArray().map((m) => [m.name, String(m.type)])),
      ]),
    );
    expect(served).toEqual(expected);
  }, 90_000);
});
