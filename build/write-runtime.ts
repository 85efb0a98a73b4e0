/**
 * Writes the runtime as an image carries it: `<dir>/stunnerd.mjs` (the same bundle the
 * ConfigMap holds, uncompressed) and `<dir>/bootstrap.mjs`. Used by runtime/Dockerfile.
 *   tsx build/write-runtime.ts <dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOTSTRAP_FILE } from '../contract/pod-layout.js';
import { bootstrapSource, bundleRuntime, RuntimeBundleError } from './runtime-bundle.js';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: write-runtime.ts <output directory>');
  process.exit(2);
}
try {
  const bundle = bundleRuntime();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stunnerd.mjs'), bundle.js);
  writeFileSync(join(dir, BOOTSTRAP_FILE), bootstrapSource());
  console.log(`wrote ${dir}/stunnerd.mjs (${bundle.rawBytes} bytes, sha256 of gzip ${bundle.sha256})`);
} catch (e) {
  console.error(e instanceof RuntimeBundleError ? e.message : String(e));
  process.exit(1);
}
