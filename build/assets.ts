/**
 * Writes the runtime assets the constructs ship with into lib/assets/: the gzipped bundle, the
 * bootstrap and a manifest with the bundle's digest, and the demo servers in lib/assets/demos/
 * (build/demo-bundles.ts). `npm run build` (and so `npm pack`) runs it.
 *   tsx build/assets.ts [outDir]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BOOTSTRAP_FILE, BUNDLE_FILE } from '../contract/pod-layout.js';
import { writeDemoAssets } from './demo-bundles.js';
import { bootstrapSource, bundleRuntime, REPO_ROOT, RuntimeBundleError } from './runtime-bundle.js';

export const ASSETS_DIR = 'lib/assets';
export const MANIFEST_FILE = 'runtime.json';
export const DEMOS_DIR = 'demos';

export function writeAssets(outDir = resolve(REPO_ROOT, ASSETS_DIR)): { sha256: string; bytes: number } {
  const bundle = bundleRuntime();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, BUNDLE_FILE), bundle.gzip);
  writeFileSync(join(outDir, BOOTSTRAP_FILE), bootstrapSource());
  const manifest = { sha256: bundle.sha256, rawBytes: bundle.rawBytes, gzipBytes: bundle.gzip.byteLength };
  writeFileSync(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  writeDemoAssets(join(outDir, DEMOS_DIR));
  return { sha256: bundle.sha256, bytes: bundle.gzip.byteLength };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
    const { sha256, bytes } = writeAssets(out);
    console.log(`runtime assets: ${bytes} bytes gzipped, sha256 ${sha256}`);
  } catch (e) {
    console.error(e instanceof RuntimeBundleError ? e.message : String(e));
    process.exit(1);
  }
}
