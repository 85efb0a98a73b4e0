// The operator tools' loader, shared by bin/stunnerctl.mjs and bin/turncat.mjs. Installed from the
// package, it loads the prebuilt tools bundle the package ships (lib/tools/tools.mjs); in a source
// checkout, the TypeScript sources through tsx, so that a tool is never a stale build.
import { existsSync } from 'node:fs';

export async function loadTools() {
  const source = new URL('../tools/main.ts', import.meta.url);
  if (!existsSync(source)) return import('../lib/tools/tools.mjs');
  const { register } = await import('tsx/esm/api');
  register();
  return import(source.href);
}
