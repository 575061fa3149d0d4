import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  asList,
  asNode,
  cliCommands,
  containerConfig,
  DEPLOY,
  grpcPort,
  interpolate,
  type Node,
  ROOT,
  rolePorts,
  yamlDocuments,
} from "./deploy-support.js";

// No Docker engine or Kubernetes cluster runs where the tests run, so the deploy files are checked
// offline against the code: YAML parses, commands exist, every WHALESHARK_* variable is a real key
// (the loader accepts the container's whole environment), ports match the configuration, probes
// point at declared ports, and the Dockerfile copies files that exist.

let commands: Set<string>;
beforeAll(() => {
  commands = cliCommands();
  expect([...commands]).toEqual(expect.arrayContaining(["start", "gateway", "domain", "store", "migrate"]));
});

describe("deploy/Dockerfile", () => {
  const text = readFileSync(join(DEPLOY, "Dockerfile"), "utf8");
  const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const args = new Map<string, string>();
  for (const line of instructions) {
    const m = line.match(/^ARG (\w+)=(\S+)$/);
    if (m) args.set(m[1] ?? "", m[2] ?? "");
  }
  const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? "");

  it("is multi-stage on node:20-bookworm-slim and installs the lockfile with npm ci", () => {
    const from = instructions.filter((l) => l.startsWith("FROM ")).map((l) => expand(l.split(" ")[1] ?? ""));
    expect(from.length).toBeGreaterThanOrEqual(2);
    expect(new Set(from)).toEqual(new Set(["node:20-bookworm-slim"]));
    expect(instructions.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
  });

  it("copies only files that exist, and what `npm run gen` (postinstall) reads before npm ci", () => {
    const ignored = readFileSync(join(DEPLOY, "Dockerfile.dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const copied: string[] = [];
    let beforeCi: string[] | undefined;
    for (const line of instructions) {
      if (/^RUN npm ci\b/.test(line)) beforeCi = [...copied];
      if (!line.startsWith("COPY ") || line.includes("--from=")) continue;
      const parts = line
        .split(/\s+/)
        .slice(1)
        .filter((p) => !p.startsWith("--"));
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(ignored, `${source} is excluded by Dockerfile.dockerignore`).not.toContain(
          source.split("/")[0],
        );
        copied.push(source);
      }
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.postinstall).toBe("npm run gen");
    expect(pkg.scripts.gen).toBe("bash scripts/gen.sh");
    expect(beforeCi).toEqual(
      expect.arrayContaining([
        "package.json",
        "package-lock.json",
        "scripts/gen.sh",
        "buf.yaml",
        "buf.gen.yaml",
        "proto",
        "prisma",
      ]),
    );
    // Everything the running code imports is in the image.
    expect(copied).toEqual(
      expect.arrayContaining(["bin", "app", "lib", "gateway", "services", "tsconfig.json"]),
    );
  });

  it("runs bin/whaleshark.js and exposes every role's default port", () => {
    expect(instructions).toContain('ENTRYPOINT ["node", "bin/whaleshark.js"]');
    expect(existsSync(join(ROOT, "bin/whaleshark.js"))).toBe(true);
    const cmd = instructions.find((l) => l.startsWith("CMD "));
    expect(commands.has((JSON.parse(cmd?.slice(4) ?? "[]") as string[])[0] ?? "")).toBe(true);
    const exposed = instructions
      .filter((l) => l.startsWith("EXPOSE "))
      .flatMap((l) => l.split(/\s+/).slice(1).map(Number));
    const defaults = containerConfig({});
    for (const role of ["gateway", "domain", "store"]) {
      expect(exposed).toEqual(expect.arrayContaining(rolePorts(defaults, role)));
    }
  });
});

describe("deploy/docker-compose.yml", () => {
  const compose = asNode(
    parse(interpolate(readFileSync(join(DEPLOY, "docker-compose.yml"), "utf8")), { merge: true }),
  );
  const services = asNode(compose.services);
  const ours = Object.entries(services).filter(([, s]) => asNode(s).image === "whaleshark:local");

  it("has consul, redis, rabbitmq, postgres, a migrate job, 2 gateways, a domain and a store", () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(["consul", "redis", "rabbitmq", "postgres"]),
    );
    const roles = ours.map(([, s]) => asList(asNode(s).command)[0]).sort();
    expect(roles).toEqual(["domain", "gateway", "gateway", "migrate", "store"]);
    for (const [name, s] of Object.entries(services)) {
      const image = String(asNode(s).image ?? "");
      expect(image, name).toMatch(/^[\w./-]+:[\w.-]+$/); // pinned tag, never implicit latest
      for (const dep of Object.keys(asNode(asNode(s).depends_on)))
        expect(Object.keys(services), name).toContain(dep);
    }
  });

  it("builds the image from deploy/Dockerfile with the repository as context", () => {
    for (const [name, s] of ours) {
      const build = asNode(asNode(s).build);
      const context = resolve(DEPLOY, String(build.context));
      expect(context, name).toBe(resolve(ROOT));
      expect(existsSync(join(context, String(build.dockerfile))), name).toBe(true);
    }
  });

  it.each(["migrate", "store", "domain", "gateway-1", "gateway-2"])(
    "%s runs an existing command with a configuration the loader accepts, on its configured ports",
    (name) => {
      const service = asNode(services[name]);
      const role = String(asList(service.command)[0]);
      expect(commands.has(role)).toBe(true);
      const env = Object.fromEntries(
        Object.entries(asNode(service.environment)).map(([k, v]) => [k, String(v)]),
      );
      const config = containerConfig(env);
      expect(config.profile).toBe("distributed");
      expect(config.discovery.kind).toBe("consul");
      const published = asList(service.ports).map((p) => String(p).split(":"));
      for (const [, container] of published)
        expect(rolePorts(config, role), name).toContain(Number(container));
      if (role === "gateway") {
        // Devices get the registered port, so it must be published as is.
        for (const port of [config.gateway.tcpPort, config.gateway.wsPort]) {
          expect(published, name).toContainEqual([String(port), String(port)]);
        }
        expect(config.discovery.advertiseHost, name).toBeDefined();
      }
      if (role === "domain" || role === "store") expect(config[role].host).toBe("0.0.0.0");
    },
  );

  it("gives the two gateways distinct node ids and ports", () => {
    const gateways = ours.filter(([, s]) => asList(asNode(s).command)[0] === "gateway");
    const configs = gateways.map(([, s]) =>
      containerConfig(
        Object.fromEntries(Object.entries(asNode(asNode(s).environment)).map(([k, v]) => [k, String(v)])),
      ),
    );
    expect(new Set(configs.map((c) => c.nodeId)).size).toBe(2);
    expect(new Set(configs.map((c) => c.gateway.tcpPort)).size).toBe(2);
  });
});

describe("deploy/k8s", () => {
  const dir = join(DEPLOY, "k8s");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  const docs = files.flatMap((f) => yamlDocuments(join(dir, f)).map((doc) => ({ file: f, doc })));
  const objects = docs.filter(({ file }) => file !== "kustomization.yaml");
  const byKind = (kind: string) => objects.filter(({ doc }) => doc.kind === kind).map(({ doc }) => doc);
  const configFile = String(
    asNode(byKind("ConfigMap").find((c) => asNode(c.metadata).name === "whaleshark-config")?.data)[
      "whaleshark.yaml"
    ],
  );
  const secret = asNode(byKind("Secret")[0]?.stringData);
  const workloads = [...byKind("Deployment"), ...byKind("StatefulSet"), ...byKind("Job")];
  const podSpec = (w: Node) => asNode(asNode(asNode(w.spec).template).spec);

  it("every object has apiVersion, kind, metadata.name and the whaleshark namespace", () => {
    expect(objects.length).toBeGreaterThan(8);
    for (const { file, doc } of objects) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      const meta = asNode(doc.metadata);
      expect(meta.name, file).toBeTruthy();
      if (doc.kind !== "Namespace") expect(meta.namespace, `${file} ${String(meta.name)}`).toBe("whaleshark");
    }
  });

  it("kustomization lists every manifest except the example secret", () => {
    const kustomization = docs.find(({ file }) => file === "kustomization.yaml")?.doc ?? {};
    const listed = asList(kustomization.resources).map(String);
    expect(listed.sort()).toEqual(
      files.filter((f) => f !== "kustomization.yaml" && f !== "secret.example.yaml").sort(),
    );
  });

  it("has Deployments for the three roles, a migrate Job and the ConfigMap", () => {
    const roles = workloads.flatMap((w) =>
      asList(podSpec(w).containers).map((c) => asList(asNode(c).args)[0]),
    );
    expect(roles).toEqual(expect.arrayContaining(["gateway", "domain", "store", "migrate"]));
    expect(byKind("Job").length).toBe(1);
    expect(configFile).toContain("profile: distributed");
  });

  it("every WhaleShark container runs an existing command with a configuration the loader accepts", () => {
    for (const workload of workloads) {
      const spec = podSpec(workload);
      for (const c of asList(spec.containers).map(asNode)) {
        if (c.image !== "whaleshark:local") continue;
        const role = String(asList(c.args)[0]);
        expect(commands.has(role), role).toBe(true);
        const env: Record<string, string> = {};
        for (const e of asList(c.env).map(asNode)) {
          const from = asNode(e.valueFrom);
          const key = asNode(from.secretKeyRef);
          const field = String(asNode(from.fieldRef).fieldPath ?? "");
          if (e.value !== undefined) env[String(e.name)] = String(e.value);
          else if (key.key !== undefined) {
            expect(key.name).toBe("whaleshark-secrets");
            expect(secret, `secret key ${String(key.key)}`).toHaveProperty(String(key.key));
            env[String(e.name)] = String(secret[String(key.key)]);
          } else
            env[String(e.name)] = field === "status.podIP" ? "10.1.2.3" : "whaleshark-gateway-5d9c7-x2x7q";
        }
        // The config file is the ConfigMap, mounted where WHALESHARK_CONFIG points.
        const mount = asList(c.volumeMounts)
          .map(asNode)
          .find((m) => env.WHALESHARK_CONFIG?.startsWith(`${String(m.mountPath)}/`));
        const volume = asList(spec.volumes)
          .map(asNode)
          .find((v) => v.name === mount?.name);
        expect(asNode(volume?.configMap).name, role).toBe("whaleshark-config");
        const config = containerConfig(env, configFile);
        expect(config.discovery.kind).toBe("zookeeper");
        const declared = asList(c.ports).map(asNode);
        expect(declared.map((p) => p.containerPort).sort(), role).toEqual(
          [...rolePorts(config, role)].sort(),
        );
        const grpc = grpcPort(config, role);
        for (const probe of ["readinessProbe", "livenessProbe"]) {
          if (grpc === undefined) continue;
          expect(asNode(asNode(c[probe]).grpc).port, `${role} ${probe}`).toBe(grpc);
        }
      }
    }
  });

  it("probes and Services point at ports their pods declare", () => {
    const portsOf = (w: Node) =>
      asList(podSpec(w).containers).flatMap((c) => asList(asNode(c).ports).map(asNode));
    const has = (ports: Node[], ref: unknown) => ports.some((p) => p.name === ref || p.containerPort === ref);
    for (const w of workloads) {
      const ports = portsOf(w);
      for (const c of asList(podSpec(w).containers).map(asNode)) {
        for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"].map((k) => asNode(c[k]))) {
          for (const kind of ["grpc", "tcpSocket", "httpGet"]) {
            const ref = asNode(probe[kind]).port;
            if (ref !== undefined)
              expect(has(ports, ref), `${String(asNode(w.metadata).name)} ${kind} ${String(ref)}`).toBe(true);
          }
        }
      }
    }
    for (const service of byKind("Service")) {
      const selector = asNode(asNode(service.spec).selector);
      const target = workloads.find((w) => {
        const labels = asNode(asNode(asNode(asNode(w.spec).template).metadata).labels);
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
      expect(target, String(asNode(service.metadata).name)).toBeDefined();
      for (const p of asList(asNode(service.spec).ports).map(asNode)) {
        expect(
          has(portsOf(target ?? {}), p.targetPort),
          `${String(asNode(service.metadata).name)} ${String(p.targetPort)}`,
        ).toBe(true);
      }
    }
  });
});
