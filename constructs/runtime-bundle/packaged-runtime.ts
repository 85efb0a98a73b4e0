/**
 * The prebuilt runtime this package ships (lib/assets/, written by `npm run build`). A synth only
 * reads these bytes, so the runtime ConfigMap and its digest are the same in every project that
 * installs one version of this package, whatever bundler that project has.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOTSTRAP_FILE, BUNDLE_FILE } from '../../contract/pod-layout.js';

const PACKAGE_NAME = 'stunner-gitops';
const ASSETS_DIR = 'lib/assets';
const MANIFEST_FILE = 'runtime.json';

export interface PackagedRuntime {
  /** The gzipped bundle: ConfigMap binaryData. */
  readonly gzip: Buffer;
  /** The bootstrap's source: plain ConfigMap data, readable in git. */
  readonly bootstrap: string;
  /** sha256 of the gzipped bundle: a pod template annotation, so that a new runtime rolls the pods. */
  readonly sha256: string;
  /** Size of the bundle before compression. */
  readonly rawBytes: number;
}

let cached: PackagedRuntime | undefined;

/** Reads the shipped runtime once per process. Throws with the fix when it was never built. */
export function packagedRuntime(): PackagedRuntime {
  if (cached !== undefined) return cached;
  const dir = join(packageRoot(), ASSETS_DIR);
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath))
    throw new Error(
      `the prebuilt runtime is missing (${ASSETS_DIR}/${MANIFEST_FILE} in ${PACKAGE_NAME}); run \`npm run build\` in the ${PACKAGE_NAME} checkout, or install a packed release`,
    );
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { sha256: string; rawBytes: number };
  cached = {
    gzip: readFileSync(join(dir, BUNDLE_FILE)),
    bootstrap: readFileSync(join(dir, BOOTSTRAP_FILE), 'utf8'),
    sha256: manifest.sha256,
    rawBytes: manifest.rawBytes,
  };
  return cached;
}

/** The directory of this package's package.json, from the source tree or from any build of it. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME)
      return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${fileURLToPath(import.meta.url)}`);
}
