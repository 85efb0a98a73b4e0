/**
 * Builds the demo servers (demo-servers/<name>/main.ts) as they ship inside the manifests, the way
 * the runtime ships: one minified ESM bundle each (npm dependencies such as `ws` inlined),
 * gzipped deterministically, plus the small bootstrap that stock Node.js runs in the pod. The
 * constructs read the result from lib/assets/demos/ (constructs/runtime-bundle/packaged-demos.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEMO_BOOTSTRAP_FILE, DEMO_SERVERS, type DemoServerName } from '../contract/demo-layout.js';
import { bundleAndGzip, REPO_ROOT } from './runtime-bundle.js';

/** The manifest next to the bundles: each demo's digest and sizes. */
export const DEMO_MANIFEST_FILE = 'demos.json';
export const DEMO_BOOTSTRAP_SOURCE = 'demo-servers/bootstrap.mjs';

const BANNER = [
  "import { createRequire as __demoRequire } from 'node:module';",
  'const require = __demoRequire(import.meta.url);',
].join('\n');

export interface DemoBundle {
  readonly name: DemoServerName;
  readonly gzip: Buffer;
  readonly rawBytes: number;
  /** sha256 of the gzipped bundle: a pod template annotation, so a new server rolls the pods. */
  readonly sha256: string;
}

export function demoEntry(name: DemoServerName): string {
  return `demo-servers/${name}/main.ts`;
}

/** Bundles and gzips one demo server. Throws RuntimeBundleError with esbuild's messages. */
export function bundleDemo(name: DemoServerName): DemoBundle {
  const { gzip, rawBytes, sha256 } = bundleAndGzip(demoEntry(name), {
    banner: BANNER,
    define: { 'process.env.NODE_ENV': '"production"' },
    // ws's optional native accelerators: absent, ws uses its JavaScript code.
    external: ['bufferutil', 'utf-8-validate'],
  });
  return { name, gzip, rawBytes, sha256 };
}

/** Writes lib/assets/demos/: `<name>.mjs.gz` per demo server, the bootstrap and demos.json. */
export function writeDemoAssets(outDir: string): Record<string, { sha256: string; gzipBytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const manifest: Record<string, { sha256: string; rawBytes: number; gzipBytes: number }> = {};
  for (const name of DEMO_SERVERS) {
    const b = bundleDemo(name);
    writeFileSync(join(outDir, `${name}.mjs.gz`), b.gzip);
    manifest[name] = { sha256: b.sha256, rawBytes: b.rawBytes, gzipBytes: b.gzip.byteLength };
  }
  writeFileSync(join(outDir, DEMO_BOOTSTRAP_FILE), readFileSync(resolve(REPO_ROOT, DEMO_BOOTSTRAP_SOURCE)));
  writeFileSync(join(outDir, DEMO_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
