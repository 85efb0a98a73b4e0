/**
 * The prebuilt demo servers this package ships (lib/assets/demos/, written by `npm run build`
 * from demo-servers/): the constructs read the bytes, they never import the servers' code.
 */
import { DEMO_BOOTSTRAP_FILE, type DemoServerName } from '../../contract/demo-layout.js';
import { readPackagedAsset } from './packaged-runtime.js';

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
  const asset = readPackagedAsset(
    DEMOS_DIR,
    MANIFEST_FILE,
    (manifest: Record<string, { sha256: string }>) => manifest[name],
    `${name}.mjs.gz`,
    DEMO_BOOTSTRAP_FILE,
    `the prebuilt demo server "${name}" is missing (${DEMOS_DIR}/${MANIFEST_FILE})`,
  );
  const demo: PackagedDemo = {
    name,
    gzip: asset.gzip,
    bootstrap: asset.bootstrap,
    sha256: asset.entry.sha256,
  };
  cache.set(name, demo);
  return demo;
}
