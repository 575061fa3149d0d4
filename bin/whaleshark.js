#!/usr/bin/env node
// The `whaleshark` command. The sources are TypeScript run in place through
// tsx's loader, so a clone needs no build step beyond `npm install`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../app/cli.ts");
process.exitCode = await main(process.argv.slice(2));
