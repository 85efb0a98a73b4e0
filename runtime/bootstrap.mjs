// Pod bootstrap of the gateway runtime: stock Node.js runs this file, which
//  1. finds the runtime next to it (stunnerd.mjs from an image, or stunnerd.mjs.gz from the
//     runtime ConfigMap, decompressed into the writable run dir: the root fs is read-only);
//  2. for each --inject CONFIG=SECRETS, injects secret material into that dataplane config,
//     because stunnerd does no env substitution under auth.credentials: SECRETS/auth/{username,
//     password,secret} become auth.credentials.*, SECRETS/tls/<listener>/tls.{crt,key} become
//     that listener's cert/key (base64 PEM). The merged copy is written (0600) to the run dir,
//     kept in sync with both sources, and replaces CONFIG in the runtime's arguments;
//  3. imports the runtime with those arguments, as if it had been started directly.
// Usage: node bootstrap.mjs [--run DIR] [--inject CONFIG=SECRETS]... -- <stunnerd arguments>
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const injects = [];
let run = 'run';
while (argv.length > 0 && argv[0] !== '--') {
  const flag = argv.shift();
  const value = argv.shift();
  if (value === undefined) fail(`${flag} needs a value`);
  if (flag === '--run') run = value;
  else if (flag === '--inject' && value.includes('=')) injects.push(value.split('=', 2));
  else
    fail(
      `bad option ${flag} ${value}; usage: bootstrap.mjs [--run DIR] [--inject CONFIG=SECRETS]... -- <args>`,
    );
}
argv.shift();
mkdirSync(run, { recursive: true });

let entry = join(here, 'stunnerd.mjs');
if (!existsSync(entry)) {
  const packed = join(here, 'stunnerd.mjs.gz');
  if (!existsSync(packed)) fail(`no runtime next to ${here} (stunnerd.mjs or stunnerd.mjs.gz)`);
  entry = resolve(run, 'stunnerd.mjs');
  writeAtomic(entry, gunzipSync(readFileSync(packed)));
}

injects.forEach(([source, secrets], i) => {
  const merged = resolve(run, injects.length === 1 ? basename(source) : `${i}-${basename(source)}`);
  let last;
  const sync = () => {
    const text = assemble(source, secrets);
    if (text !== last) writeAtomic(merged, text);
    last = text;
  };
  sync();
  setInterval(() => {
    try {
      sync();
    } catch (e) {
      console.error(`${new Date().toISOString()} bootstrap ERROR cannot assemble ${source}: ${e.message}`);
    }
  }, 1000).unref();
  argv.forEach((a, j) => {
    if (a === source) argv[j] = merged;
  });
});

process.argv = [process.argv[0], entry, ...argv];
await import(pathToFileURL(entry).href);

function assemble(source, dir) {
  const text = readFileSync(source, 'utf8');
  let config;
  try {
    config = JSON.parse(text);
  } catch {
    return text; // not ours to fix: stunnerd reports the syntax error with its position
  }
  const read = (...p) => (existsSync(join(dir, ...p)) ? readFileSync(join(dir, ...p)) : undefined);
  if (config.auth && typeof config.auth === 'object') {
    const credentials = { ...config.auth.credentials };
    for (const key of ['username', 'password', 'secret']) {
      const v = read('auth', key);
      if (v !== undefined) credentials[key] = v.toString('utf8');
    }
    config.auth.credentials = credentials;
  }
  const tls = join(dir, 'tls');
  const named = existsSync(tls) ? new Set(readdirSync(tls)) : new Set();
  for (const l of Array.isArray(config.listeners) ? config.listeners : []) {
    const short = typeof l.name === 'string' ? l.name.split('/').pop() : '';
    if (!named.has(short)) continue;
    const cert = read('tls', short, 'tls.crt');
    const key = read('tls', short, 'tls.key');
    if (cert !== undefined) l.cert = cert.toString('base64');
    if (key !== undefined) l.key = key.toString('base64');
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}

function writeAtomic(path, data) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function fail(message) {
  console.error(`bootstrap: ${message}`);
  process.exit(1);
}
