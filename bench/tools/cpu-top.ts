/**
 * `npx tsx bench/tools/cpu-top.ts <file.cpuprofile> [N]`: the N functions (default 25) with the most
 * self time in a V8 CPU profile (`--cpu-prof`, as `npm run bench -- ... --cpu-prof` writes), and the
 * share of time the process was idle, so a profile can be read without a browser.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/tools/cpu-top.ts <file.cpuprofile> [N]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  const f = byId.get(id)?.callFrame;
  const where = f?.url ? `${f.url.replace(/^.*\/(node_modules|main)\//, "$1/")}:${f.lineNumber + 1}` : "";
  const key = `${f?.functionName || "(anonymous)"} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + us);
});
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
for (const [name, us] of rows) {
  process.stdout.write(
    `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`,
  );
}
