import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { verifyUserSign } from "../lib/auth/index.js";
import { createTestDatabase, type TestDatabase } from "../lib/testing/postgres.js";
import { isolatedEnv } from "./support/cli.js";

// The README is executable (issue 18): every command in the shell blocks of README.md and
// deploy/README.md is listed here, either run as written (in its block's order, so `export`s
// apply) or skipped with the reason. A command added to the docs without an entry, or an entry
// whose command left the docs, fails the first test.
const repo = fileURLToPath(new URL("..", import.meta.url));
const DOCS = ["README.md", "deploy/README.md"] as const;

type Verdict = { run: true } | { skip: string };
const RUN: Verdict = { run: true };

/** Blocks marked `<!-- name -->` that another test runs whole. */
const BLOCKS_RUN_ELSEWHERE: Record<string, string> = {
  "http-api-examples": "run whole against `whaleshark start` by test/http/embedded-api.test.ts",
  "console-admin-commands":
    "run whole against `whaleshark start` by test/console-server/embedded-console.test.ts",
  "monitoring-checks": "run whole (promtool on deploy/monitoring) by test/deploy/monitoring.test.ts",
  "package-commands":
    "run by test/packages/*-package.test.ts (npm pack into a temp folder, the tarball installed into an empty project)",
  "buf-python-template": "run by test/packages/buf-templates.test.ts (template and output in a temp folder)",
};

/** Every other command of the docs' shell blocks (comments and line continuations removed). */
const COMMANDS: Record<string, Verdict> = {
  // README.md, Quick start
  "npm install && npm start": {
    skip: "CI runs `npm ci` on a fresh clone; `npm start` is a server (test/cli.test.ts starts it)",
  },
  "npm test": { skip: "the whole suite, which runs this test" },
  "npm run build": { skip: "run by test/build.test.ts (into a folder of its own, then started from it)" },
  // README.md, The `whaleshark` command
  "npx whaleshark help": RUN,
  "npx whaleshark token --app 10001 --user u1": RUN,
  // README.md, Running distributed
  "export WHALESHARK_PROFILE=distributed": RUN,
  "export WHALESHARK_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/whaleshark": RUN,
  "export WHALESHARK_REDIS_URL=redis://127.0.0.1:6379": RUN,
  "export WHALESHARK_AMQP_URL=amqp://guest:guest@127.0.0.1:5672": RUN,
  'export WHALESHARK_APPS=\'{"10001":{"privateKey":"change-me-please"}}\'': RUN,
  "export WHALESHARK_DOMAIN__INTERNAL_SECRET=another-long-secret": RUN,
  "export WHALESHARK_DISCOVERY__KIND=zookeeper": RUN,
  "export WHALESHARK_DISCOVERY__ZOOKEEPER_CONNECT=127.0.0.1:2181": RUN,
  "npx whaleshark migrate": RUN,
  "WHALESHARK_NODE_ID=store-1 WHALESHARK_WORKER_ID=1 npx whaleshark store &": {
    skip: "a long-running server on the default ports; roles are started by test/cluster and from the build by test/build.test.ts",
  },
  "WHALESHARK_NODE_ID=domain-1 WHALESHARK_WORKER_ID=2 npx whaleshark domain &": {
    skip: "a long-running server on the default ports; test/cluster starts domains",
  },
  "WHALESHARK_NODE_ID=gateway-1 npx whaleshark gateway &": {
    skip: "a long-running server on the default ports; test/cluster starts gateways",
  },
  // deploy/README.md
  "docker build -f deploy/Dockerfile -t whaleshark:local .": {
    skip: "no Docker engine on the build machines; test/deploy checks the Dockerfile offline",
  },
  "docker run --rm whaleshark:local help": { skip: "no Docker engine; `whaleshark help` itself runs above" },
  "createdb -h 127.0.0.1 -U postgres whaleshark": {
    skip: "creates the machine's shared database once; tests use databases of their own",
  },
  'WHALESHARK_APPS=\'{"10001":{"privateKey":"a-long-private-key","adminIds":["admin"]}}\' npx whaleshark cluster':
    {
      skip: "runs until Ctrl-C; test/cluster/cluster-command.test.ts runs the command",
    },
  "docker compose -f deploy/docker-compose.yml up --build": {
    skip: "no Docker engine; test/deploy validates the compose file offline",
  },
  "cp deploy/k8s/secret.example.yaml my-secret.yaml": {
    skip: "the first step of a Kubernetes deployment (kubectl below)",
  },
  "kubectl apply -f deploy/k8s/namespace.yaml -f my-secret.yaml": {
    skip: "no Kubernetes cluster; test/deploy validates the manifests offline",
  },
  "kubectl apply -k deploy/k8s": {
    skip: "no Kubernetes cluster; test/deploy validates the manifests offline",
  },
  "docker compose -f deploy/docker-compose.yml -f deploy/docker-compose.clustered.yml up --build": {
    skip: "no Docker engine; test/deploy/clustered-deploy.test.ts validates the merged files offline",
  },
  "kubectl apply -f my-secret.yaml": {
    skip: "no Kubernetes cluster; test/deploy/clustered-deploy.test.ts checks the example Secrets",
  },
  "kubectl apply -k deploy/k8s-clustered": {
    skip: "no Kubernetes cluster; test/deploy/clustered-deploy.test.ts validates the overlay offline",
  },
};

interface Block {
  doc: string;
  marker: string | undefined;
  commands: string[];
}

/** The shell blocks of a Markdown file, each command on one line without its comment. */
function shellBlocks(doc: string): Block[] {
  const text = readFileSync(`${repo}/${doc}`, "utf8");
  const blocks: Block[] = [];
  for (const m of text.matchAll(/(?:<!-- ([\w-]+) -->\s*)?```(?:bash|sh|shell|console)\n([\s\S]*?)```/g)) {
    const commands = m[2]!
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .map((line) =>
        line
          .replace(/\s+#\s.*$/, "")
          .replace(/\s+/g, " ")
          .trim(),
      )
      .filter((line) => line !== "" && !line.startsWith("#"));
    blocks.push({ doc, marker: m[1], commands });
  }
  return blocks;
}

const blocks = DOCS.flatMap(shellBlocks);

describe("the README's shell commands", () => {
  it("every command of README.md and deploy/README.md is listed to run or skipped with a reason", () => {
    const documented = blocks.filter((b) => b.marker === undefined).flatMap((b) => b.commands);
    expect(documented.filter((c) => !(c in COMMANDS))).toEqual([]);
    expect(Object.keys(COMMANDS).filter((c) => !documented.includes(c))).toEqual([]);
    for (const b of blocks.filter((x) => x.marker !== undefined)) {
      expect(BLOCKS_RUN_ELSEWHERE[b.marker!], `${b.doc}: block <!-- ${b.marker} -->`).toBeDefined();
    }
    const verdicts = Object.values(COMMANDS);
    expect(verdicts.filter((v) => "run" in v).length).toBeGreaterThanOrEqual(11);
    for (const v of verdicts) if ("skip" in v) expect(v.skip.length).toBeGreaterThan(10);
  });

  /** Runs a block's runnable commands as one bash script; `replace` maps text to the test's own. */
  async function runBlock(block: Block, replace: Record<string, string> = {}) {
    let script = block.commands.filter((c) => "run" in (COMMANDS[c] ?? {})).join("\n");
    for (const [from, to] of Object.entries(replace)) script = script.replaceAll(from, to);
    return promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], {
      cwd: repo,
      env: await isolatedEnv(),
      timeout: 90_000,
    });
  }

  it("`npx whaleshark help` and `npx whaleshark token` work as written (npx finds the project's command)", async () => {
    const block = blocks.find((b) => b.commands.includes("npx whaleshark token --app 10001 --user u1"));
    expect(block).toBeDefined();
    const { stdout } = await runBlock(block!);
    expect(stdout).toMatch(/^usage: whaleshark <command>/);
    const sign = stdout.trim().split("\n").at(-1)!;
    expect(() =>
      verifyUserSign({ token: sign, appId: 10001, identifier: "u1", privateKey: "bantanger" }),
    ).not.toThrow();
  }, 90_000);

  describe("Running distributed", () => {
    let db: TestDatabase | undefined;
    afterAll(async () => {
      await db?.drop();
    });

    it("the exports and `npx whaleshark migrate` (on a database of the test's own)", async () => {
      const block = blocks.find((b) => b.commands.includes("npx whaleshark migrate"));
      expect(block).toBeDefined();
      db = await createTestDatabase();
      const { stdout } = await runBlock(block!, {
        "postgresql://postgres@127.0.0.1:5432/whaleshark": db.url,
      });
      expect(stdout).toMatch(/"msg":"migrations done"/);
    }, 90_000);
  });
});
