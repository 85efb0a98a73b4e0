/**
 * The prebuilt demo servers this package ships (lib/assets/demos/, written by `npm run build`
 * from demo-servers/): the constructs read the bytes, they never import the servers' code.
 */
import { DEMO_BOOTSTRAP_FILE, type DemoServerName } from '../../contract/demo-layout.js';
import { type PackagedBundle, readPackagedAsset } from './packaged-runtime.js';

const DEMOS_DIR = 'lib/assets/demos';
const MANIFEST_FILE = 'demos.json';

export interface PackagedDemo extends PackagedBundle {
  readonly name: DemoServerName;
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
  const { entry: _, ...bundle } = asset;
  const demo: PackagedDemo = { name, ...bundle };
  cache.set(name, demo);
  return demo;
}
