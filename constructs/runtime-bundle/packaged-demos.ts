/**
 * The prebuilt demo servers this package ships (lib/assets/demos/, written by `npm run build`
 * from demo-servers/): the constructs read the bytes, they never import the servers' code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_BOOTSTRAP_FILE, type DemoServerName } from '../../contract/demo-layout.js';
import { packageRoot } from './packaged-runtime.js';

const DEMOS_DIR = 'lib/assets/demos';
const MANIFEST_FILE = 'demos.json';

export interface PackagedDemo {
  readonly name: DemoServerName;
  /** The gzipped bundle: ConfigMap binaryData. */
  readonly gzip: Buffer;
  /** The bootstrap's source: plain ConfigMap data, readable in git. */
  readonly bootstrap: string;
  /** sha256 of the gzipped bundle: a pod template annotation, so that a new server rolls the pods. */
  readonly sha256: string;
}

const cache = new Map<DemoServerName, PackagedDemo>();

/** Reads one shipped demo server once per process. Throws with the fix when it was never built. */
export function packagedDemo(name: DemoServerName): PackagedDemo {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const dir = join(packageRoot(), DEMOS_DIR);
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = existsSync(manifestPath)
    ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, { sha256: string }>)
    : {};
  const entry = manifest[name];
  if (entry === undefined)
    throw new Error(
      `the prebuilt demo server "${name}" is missing (${DEMOS_DIR}/${MANIFEST_FILE}); run \`npm run build\` in the stunner-gitops checkout, or install a packed release`,
    );
  const demo: PackagedDemo = {
    name,
    gzip: readFileSync(join(dir, `${name}.mjs.gz`)),
    bootstrap: readFileSync(join(dir, DEMO_BOOTSTRAP_FILE), 'utf8'),
    sha256: entry.sha256,
  };
  cache.set(name, demo);
  return demo;
}
