// Pod bootstrap of a demo server: stock Node.js runs this file from the demo's ConfigMap, which
// decompresses the server bundle next to it (server.mjs.gz) into the writable run dir (the root
// fs is read-only) and imports it. The server reads its settings from the environment.
// Usage: node bootstrap.mjs [--run DIR]
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let run = 'run';
if (argv[0] === '--run' && argv[1] !== undefined) run = argv[1];
else if (argv.length > 0) {
  console.error('bootstrap: usage: bootstrap.mjs [--run DIR]');
  process.exit(1);
}
mkdirSync(run, { recursive: true });
const entry = resolve(run, 'server.mjs');
writeFileSync(`${entry}.tmp`, gunzipSync(readFileSync(join(here, 'server.mjs.gz'))), { mode: 0o600 });
renameSync(`${entry}.tmp`, entry);
await import(pathToFileURL(entry).href);
