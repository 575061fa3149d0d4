import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  asList,
  asNode,
  composeMerge,
  containerConfig,
  DEPLOY,
  danglingPortReferences,
  directives,
  interpolate,
  kustomizeBuild,
  type Node,
  yamlDocuments,
} from "./deploy-support.js";

// The clustered variants (issue 20 item 5): deploy/docker-compose.clustered.yml on top of the
// compose file, and the deploy/k8s-clustered overlay on top of deploy/k8s. No Docker engine or
// cluster runs here, so they are checked offline the way deploy-files.test.ts checks the
// single-node files: as compose and kustomize would assemble them, the roles' configuration
// through the real loader (redis.cluster, amqp.queueType), the node names that the cluster
// settings and the cluster-creating jobs use against the services that define them, and the
// Redis node settings in a real redis-server.

const ROLES = ["store", "domain", "gateway-1", "gateway-2"];
const REDIS_NODES = ["redis", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6"];
const RABBIT_NODES = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"];

const envOf = (service: Node) =>
  Object.fromEntries(Object.entries(asNode(service.environment)).map(([k, v]) => [k, String(v)]));

describe("deploy/docker-compose.clustered.yml (over docker-compose.yml)", () => {
  const read = (file: string) =>
    parse(interpolate(readFileSync(join(DEPLOY, file), "utf8")), { merge: true }) as unknown;
  const base = asNode(read("docker-compose.yml"));
  const merged = asNode(composeMerge(base, read("docker-compose.clustered.yml")));
  const services = asNode(merged.services);
  const service = (name: string) => asNode(services[name]);

  it("keeps every service of the single-node file and adds the cluster nodes and the init job", () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        ...Object.keys(asNode(base.services)),
        ...REDIS_NODES,
        ...RABBIT_NODES,
        "redis-cluster-init",
      ]),
    );
    for (const [name, s] of Object.entries(services)) {
      expect(String(asNode(s).image), name).toMatch(/^[\w./-]+:[\w.-]+$/);
      for (const dep of Object.keys(asNode(asNode(s).depends_on)))
        expect(Object.keys(services), name).toContain(dep);
    }
    const volumes = Object.keys(asNode(merged.volumes));
    for (const [name, s] of Object.entries(services)) {
      for (const v of asList(asNode(s).volumes).map(String)) {
        const source = v.split(":")[0] ?? "";
        if (source.startsWith(".")) expect(existsSync(join(DEPLOY, source)), `${name} ${source}`).toBe(true);
        else expect(volumes, `${name} ${source}`).toContain(source);
      }
    }
  });

  it.each(ROLES)("%s runs on the Redis Cluster and quorum queues, after the clusters are up", (name) => {
    const config = containerConfig(envOf(service(name)));
    expect(config.profile).toBe("distributed");
    expect(config.redis.cluster).toBe(true);
    expect(config.amqp.queueType).toBe("quorum");
    expect(REDIS_NODES).toContain(new URL(config.redis.url ?? "").hostname);
    expect(RABBIT_NODES).toContain(new URL(config.amqp.url ?? "").hostname);
    const deps = asNode(service(name).depends_on);
    expect(asNode(deps["redis-cluster-init"]).condition).toBe("service_completed_successfully");
    for (const node of RABBIT_NODES) expect(asNode(deps[node]).condition, node).toBe("service_healthy");
  });

  it("leaves the migration job alone (it needs only PostgreSQL)", () => {
    const config = containerConfig(envOf(service("migrate")));
    expect(config.redis.cluster).toBe(false);
    expect(Object.keys(asNode(service("migrate").depends_on))).toEqual(["postgres"]);
  });

  it("runs six Redis nodes on deploy/redis/cluster.conf, each announcing its own name", () => {
    for (const name of REDIS_NODES) {
      const s = service(name);
      expect(s.hostname, name).toBe(name);
      expect(s.command, name).toEqual([
        "redis-server",
        "/etc/redis-cluster.conf",
        "--cluster-announce-hostname",
        name,
      ]);
      expect(asList(s.volumes), name).toContain("./redis/cluster.conf:/etc/redis-cluster.conf:ro");
      expect(asList(asNode(s.healthcheck).test), name).toContain("ping");
    }
    const dataVolumes = REDIS_NODES.map((n) => String(asList(service(n).volumes)[0]).split(":")[0]);
    expect(new Set(dataVolumes).size).toBe(REDIS_NODES.length);
  });

  it("creates the cluster from exactly those six nodes, a replica per master, once all are healthy", () => {
    const init = service("redis-cluster-init");
    const script = asList(init.command).map(String).join(" ");
    expect(
      script
        .match(/for h in ([^;]+);/)?.[1]
        ?.trim()
        .split(/\s+/),
    ).toEqual(REDIS_NODES);
    expect(script).toContain("--cluster-replicas 1");
    expect(script).toContain("cluster_state:ok");
    expect(init.restart).toBe("no");
    for (const node of REDIS_NODES)
      expect(asNode(asNode(init.depends_on)[node]).condition, node).toBe("service_healthy");
  });

  it("runs three RabbitMQ nodes with one cookie that list each other by their host names", () => {
    const cookies = RABBIT_NODES.map((n) => envOf(service(n)).RABBITMQ_ERLANG_COOKIE);
    expect(new Set(cookies).size).toBe(1);
    expect(cookies[0]?.length).toBeGreaterThanOrEqual(20);
    const conf = directives(readFileSync(join(DEPLOY, "rabbitmq/cluster.conf"), "utf8"));
    expect(conf).toContain("cluster_formation.peer_discovery_backend = classic_config");
    const listed = conf
      .filter((l) => l.startsWith("cluster_formation.classic_config.nodes."))
      .map((l) => l.split(" = ")[1]);
    expect(listed).toEqual(RABBIT_NODES.map((n) => `rabbit@${String(service(n).hostname)}`));
    for (const n of RABBIT_NODES) {
      expect(asList(service(n).volumes), n).toContain(
        "./rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro",
      );
      expect(envOf(service(n)).RABBITMQ_DEFAULT_USER, n).toBe("whaleshark");
    }
  });
});

describe("deploy/k8s-clustered (kustomize overlay of deploy/k8s)", () => {
  const built = kustomizeBuild(join(DEPLOY, "k8s-clustered"));
  const objects = built.map((b) => b.doc);
  const named = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && asNode(o.metadata).name === name) ?? {};
  const podSpec = (w: Node) => asNode(asNode(asNode(w.spec).template).spec);
  const firstContainer = (w: Node) => asNode(asList(podSpec(w).containers)[0]);
  const secrets = new Map(
    yamlDocuments(join(DEPLOY, "k8s-clustered/secret.example.yaml")).map((s) => [
      String(asNode(s.metadata).name),
      asNode(s.stringData),
    ]),
  );
  const configFile = String(asNode(named("ConfigMap", "whaleshark-config").data)["whaleshark.yaml"]);

  /** A container's environment with secrets from the example and fields filled in. */
  const envOfContainer = (c: Node): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const e of asList(c.env).map(asNode)) {
      const ref = asNode(asNode(e.valueFrom).secretKeyRef);
      if (e.value !== undefined) env[String(e.name)] = String(e.value);
      else if (ref.key !== undefined)
        env[String(e.name)] = String(secrets.get(String(ref.name))?.[String(ref.key)]);
      else env[String(e.name)] = "whaleshark-pod-x2x7q";
    }
    return env;
  };

  it("contains every object of deploy/k8s plus the Redis Cluster and RabbitMQ, all in the namespace", () => {
    const base = kustomizeBuild(join(DEPLOY, "k8s")).map(
      (b) => `${String(b.doc.kind)}/${String(asNode(b.doc.metadata).name)}`,
    );
    const ids = objects.map((o) => `${String(o.kind)}/${String(asNode(o.metadata).name)}`);
    expect(ids).toEqual(expect.arrayContaining(base));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        "StatefulSet/redis-cluster",
        "Job/redis-cluster-create",
        "StatefulSet/rabbitmq",
        "Service/rabbitmq",
      ]),
    );
    for (const o of objects)
      if (o.kind !== "Namespace")
        expect(asNode(o.metadata).namespace, String(asNode(o.metadata).name)).toBe("whaleshark");
  });

  it("switches the store, domain and gateway to redis.cluster and quorum queues, and only them", () => {
    const deployments = objects.filter((o) => o.kind === "Deployment");
    expect(deployments.map((d) => String(asList(firstContainer(d).args)[0])).sort()).toEqual([
      "domain",
      "gateway",
      "store",
    ]);
    for (const d of deployments) {
      const config = containerConfig(envOfContainer(firstContainer(d)), configFile);
      expect(config.redis.cluster).toBe(true);
      expect(config.amqp.queueType).toBe("quorum");
      expect(config.discovery.kind).toBe("zookeeper");
    }
    const migrate = firstContainer(named("Job", "whaleshark-migrate"));
    expect(asList(migrate.env).map((e) => asNode(e).name)).not.toContain("WHALESHARK_REDIS__CLUSTER");
  });

  it("every secret reference resolves in secret.example.yaml, whose URLs name the in-cluster nodes", () => {
    const baseSecret = asNode(yamlDocuments(join(DEPLOY, "k8s/secret.example.yaml"))[0]?.stringData);
    expect(Object.keys(secrets.get("whaleshark-secrets") ?? {})).toEqual(
      expect.arrayContaining(Object.keys(baseSecret)),
    );
    for (const w of objects.filter((o) => ["Deployment", "StatefulSet", "Job"].includes(String(o.kind)))) {
      for (const c of asList(podSpec(w).containers).map(asNode)) {
        for (const e of asList(c.env).map(asNode)) {
          const ref = asNode(asNode(e.valueFrom).secretKeyRef);
          if (ref.key === undefined) continue;
          expect(secrets.get(String(ref.name)), `${String(ref.name)}`).toHaveProperty(String(ref.key));
        }
      }
    }
    const urls = secrets.get("whaleshark-secrets") ?? {};
    const redisSet = named("StatefulSet", "redis-cluster");
    expect(new URL(String(urls["redis-url"])).hostname).toBe(
      `redis-cluster-0.${String(asNode(redisSet.spec).serviceName)}`,
    );
    const amqp = new URL(String(urls["amqp-url"]));
    const amqpService = named("Service", amqp.hostname);
    expect(asNode(asNode(amqpService.spec).selector)["app.kubernetes.io/name"]).toBe("rabbitmq");
    expect(asList(asNode(amqpService.spec).ports).map((p) => asNode(p).port)).toContain(Number(amqp.port));
    expect(amqp.username).toBe(secrets.get("whaleshark-rabbitmq")?.username);
  });

  it("probes and Services point at ports their pods declare", () => {
    expect(danglingPortReferences(objects)).toEqual([]);
  });

  it("runs six Redis pods with the compose nodes' settings, each announcing its stable DNS name", () => {
    const set = named("StatefulSet", "redis-cluster");
    const spec = asNode(set.spec);
    expect(spec.replicas).toBe(6);
    const headless = asNode(named("Service", String(spec.serviceName)).spec);
    expect(headless.clusterIP).toBe("None");
    expect(headless.publishNotReadyAddresses).toBe(true);
    const c = firstContainer(set);
    expect(asList(c.env).map((e) => asNode(e).name)).toContain("POD_NAME");
    expect(c.args).toEqual([
      "redis-server",
      "/etc/redis/cluster.conf",
      "--cluster-announce-hostname",
      `$(POD_NAME).${String(spec.serviceName)}.whaleshark.svc.cluster.local`,
    ]);
    const conf = String(asNode(named("ConfigMap", "redis-cluster-config").data)["cluster.conf"]);
    expect(directives(conf)).toEqual(directives(readFileSync(join(DEPLOY, "redis/cluster.conf"), "utf8")));
    expect(asList(c.volumeMounts).map((m) => asNode(m).mountPath)).toEqual(
      expect.arrayContaining(["/data", "/etc/redis"]),
    );
    expect(c.workingDir).toBe("/data");
  });

  it("creates the cluster from all six pods by name, a replica per master", () => {
    const script = asList(firstContainer(named("Job", "redis-cluster-create")).command)
      .map(String)
      .join("\n");
    const set = asNode(named("StatefulSet", "redis-cluster").spec);
    const indexes = script
      .match(/for i in ([\d ]+); do/)?.[1]
      ?.trim()
      .split(" ")
      .map(Number);
    expect(indexes).toEqual([...Array(Number(set.replicas)).keys()]);
    expect(script).toContain(`host="redis-cluster-$i.${String(set.serviceName)}"`);
    expect(script).toContain("--cluster-replicas 1");
  });

  it("runs three RabbitMQ nodes whose node names are the ones the cluster settings list", () => {
    const set = named("StatefulSet", "rabbitmq");
    const spec = asNode(set.spec);
    expect(spec.replicas).toBe(3);
    expect(asNode(named("Service", String(spec.serviceName)).spec).publishNotReadyAddresses).toBe(true);
    const env = envOfContainer(firstContainer(set));
    expect(env.RABBITMQ_USE_LONGNAME).toBe("true");
    const nodeNames = [...Array(3).keys()].map((i) =>
      String(env.RABBITMQ_NODENAME).replace("$(POD_NAME)", `rabbitmq-${i}`),
    );
    const conf = directives(
      String(asNode(named("ConfigMap", "rabbitmq-cluster-config").data)["20-cluster.conf"]),
    );
    expect(conf).toContain("cluster_formation.peer_discovery_backend = classic_config");
    expect(conf.filter((l) => l.includes("classic_config.nodes.")).map((l) => l.split(" = ")[1])).toEqual(
      nodeNames,
    );
    expect(env.RABBITMQ_ERLANG_COOKIE?.length).toBeGreaterThanOrEqual(20);
    const mount = asList(firstContainer(set).volumeMounts)
      .map(asNode)
      .find((m) => m.name === "config");
    expect(mount?.mountPath).toBe("/etc/rabbitmq/conf.d/20-cluster.conf");
  });
});

describe("deploy/redis/cluster.conf in a real redis-server", () => {
  it("starts a cluster-mode node with AOF that announces the name given on its command line", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "ws-redis-conf-"));
    const server = spawn(
      "redis-server",
      [
        join(DEPLOY, "redis/cluster.conf"),
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-announce-hostname",
        "redis-2",
      ],
      { cwd: dir, stdio: "ignore" },
    );
    const client = await connectWhenUp(port);
    try {
      const get = async (key: string) => ((await client.config("GET", key)) as string[])[1];
      expect(await get("cluster-enabled")).toBe("yes");
      expect(await get("appendonly")).toBe("yes");
      expect(await get("cluster-announce-hostname")).toBe("redis-2");
      expect(await get("cluster-preferred-endpoint-type")).toBe("hostname");
      expect(await get("cluster-node-timeout")).toBe("5000");
      expect(String(await client.call("CLUSTER", "MYID"))).toMatch(/^[0-9a-f]{40}$/);
      expect(existsSync(join(dir, "nodes.conf"))).toBe(true);
    } finally {
      client.disconnect();
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
    }
  }, 20_000);
});

/** A client of the server on `port` once it accepts connections (it starts in a few ms). */
async function connectWhenUp(port: number): Promise<Redis> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      client.disconnect();
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
