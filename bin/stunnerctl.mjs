#!/usr/bin/env node
// stunnerctl: reads, checks and draws gateways from dist/, a cluster or a running runtime.
// Installed from the package, it runs the prebuilt tools bundle the package ships
// (lib/tools/tools.mjs); in a source checkout it runs the TypeScript sources through tsx, so that
// it is never a stale build.
import { existsSync } from 'node:fs';

const source = new URL('../tools/main.ts', import.meta.url);
let tools;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  tools = await import(source.href);
} else {
  tools = await import('../lib/tools/tools.mjs');
}
process.exit(await tools.stunnerctl(process.argv.slice(2)));
