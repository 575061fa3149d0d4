import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Installing a workspace package the way a user of it would: from its `npm pack` tarball. */
export const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * The commands of the README's shell block marked `<!-- marker -->`, comments dropped: the tests
 * run what the README tells a user to run, so the two cannot drift apart.
 */
export async function readmeCommands(marker: string): Promise<string[]> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = readme.match(new RegExp(`<!-- ${marker} -->\\s*\`\`\`bash\\n([\\s\\S]*?)\`\`\``));
  if (!block?.[1]) throw new Error(`README.md has no bash block marked <!-- ${marker} -->`);
  return block[1]
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

/**
 * Packs the workspace package `name` with the README's command (block `package-commands`; its
 * prepack builds dist/ first), the tarball written into `work`, and installs it into a new empty
 * ESM project `work/consumer`, outside the repository so that Node's resolution cannot reach
 * anything of it. Dependencies come from npm's cache when they are there (--prefer-offline),
 * else from the registry.
 * @returns the consumer project's folder
 */
export async function installPacked(name: string, work: string): Promise<string> {
  const pack = `npm pack --workspace ${name}`;
  if (!(await readmeCommands("package-commands")).includes(pack)) {
    throw new Error(`README.md's package-commands block no longer says \`${pack}\``);
  }
  const [npm = "npm", ...args] = pack.split(" ");
  await run(npm, [...args, "--pack-destination", work], { cwd: ROOT, timeout: 180_000 });
  const tarball = (await readdir(work)).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`${pack} wrote no tarball`);
  const project = join(work, "consumer");
  await mkdir(project);
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({
      name: "consumer",
      version: "1.0.0",
      private: true,
      type: "module",
      // npm here runs with strict-allow-scripts (TOOLCHAIN.md §10), which refuses any install
      // script not listed. grpc-js → proto-loader → protobufjs has one (a version notice), which
      // the repository's own package.json denies too.
      allowScripts: { protobufjs: false },
    }),
  );
  await run(
    "npm",
    ["install", join(work, tarball), "--prefer-offline", "--no-audit", "--no-fund", "--save-exact"],
    { cwd: project, timeout: 180_000 },
  );
  return project;
}

/**
 * Type-checks `files` in `project` with the repository's tsc (strict, NodeNext, the package's
 * .d.ts checked too) and resolves with tsc's output, empty when it passed.
 */
export async function typecheck(project: string, files: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(project, name), text);
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(ROOT, "node_modules/@types")],
        types: ["node"],
      },
      files: Object.keys(files),
    }),
  );
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  return run(process.execPath, [tsc, "-p", project], { cwd: project, timeout: 120_000 }).then(
    (r) => r.stdout,
    (e: { stdout?: string; message: string }) => e.stdout || e.message,
  );
}
