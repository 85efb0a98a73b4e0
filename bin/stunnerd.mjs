#!/usr/bin/env node
// stunnerd: the relay, `stunnerd auth` and `stunnerd icetest -c`. Installed from the package, it
// runs the prebuilt runtime the package ships (lib/assets, the same bytes the gateway pods run),
// unpacked into a private directory under the temp dir. In a source checkout it runs the
// TypeScript sources of the same program (tools/pod-main.ts) through tsx, so that it is never a
// stale build. The operator tools are bin/stunnerctl.mjs and bin/turncat.mjs.
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = join(root, 'lib', 'assets');
if (!existsSync(join(root, 'tools', 'pod-main.ts'))) {
  const js = gunzipSync(readFileSync(join(assets, 'stunnerd.mjs.gz')));
  // A private directory: a file another user could replace must never be imported.
  const dir = join(tmpdir(), `stunner-gitops-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) {
    console.error(`stunnerd: ${dir} is not a private directory of this user; remove it and retry`);
    process.exit(1);
  }
  const file = join(dir, 'stunnerd.mjs');
  if (!existsSync(file) || !readFileSync(file).equals(js)) {
    const part = `${file}.${process.pid}`;
    writeFileSync(part, js, { mode: 0o600 });
    renameSync(part, file);
  }
  process.argv[1] = file;
  // --version names the runtime by the digest the package ships; the bundle cannot carry its own.
  try {
    const { sha256 } = JSON.parse(readFileSync(join(assets, 'runtime.json'), 'utf8'));
    if (typeof sha256 === 'string') process.env.STUNNERD_RUNTIME_SHA256 = sha256;
  } catch {
    // no manifest: --version says the digest is not known
  }
  await import(pathToFileURL(file).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../tools/pod-main.ts');
}
