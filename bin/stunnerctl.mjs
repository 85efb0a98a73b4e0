#!/usr/bin/env node
// stunnerctl. Installed from the package, it runs the prebuilt CLI bundle the package ships
// (lib/cli/stunnerctl.mjs, written by `npm run build`). In a source checkout it runs the TypeScript
// sources through tsx, so that it is never a stale build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let mod;
if (!existsSync(join(root, 'runtime', 'cli', 'stunnerctl.ts'))) {
  mod = await import(pathToFileURL(join(root, 'lib', 'cli', 'stunnerctl.mjs')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import('../runtime/cli/stunnerctl.ts');
}
process.exitCode = await mod.main(process.argv.slice(2));
