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

/** A prebuilt program this package ships: the runtime, or a demo server. */
export interface PackagedBundle {
  /** The gzipped bundle: ConfigMap binaryData. */
  readonly gzip: Buffer;
  /** The bootstrap's source: plain ConfigMap data, readable in git. */
  readonly bootstrap: string;
  /** sha256 of the gzipped bundle: a pod template annotation, so that a new bundle rolls the pods. */
  readonly sha256: string;
}

export interface PackagedRuntime extends PackagedBundle {
  /** Size of the bundle before compression. */
  readonly rawBytes: number;
}

let cached: PackagedRuntime | undefined;

/** Reads the shipped runtime once per process. Throws with the fix when it was never built. */
export function packagedRuntime(): PackagedRuntime {
  if (cached !== undefined) return cached;
  const asset = readPackagedAsset(
    ASSETS_DIR,
    MANIFEST_FILE,
    (manifest: { sha256: string; rawBytes: number }) => manifest,
    BUNDLE_FILE,
    BOOTSTRAP_FILE,
    `the prebuilt runtime is missing (${ASSETS_DIR}/${MANIFEST_FILE} in ${PACKAGE_NAME})`,
  );
  const { entry, ...bundle } = asset;
  cached = { ...bundle, rawBytes: entry.rawBytes };
  return cached;
}

/**
 * Reads one prebuilt program from `assetsDir` of this package: its entry in the manifest (picked
 * from the parsed `manifestFile`, or undefined when the file or the entry is missing), its gzipped
 * bundle and its bootstrap. Throws `missing` with the fix when the entry is missing.
 */
export function readPackagedAsset<M, E extends { readonly sha256: string }>(
  assetsDir: string,
  manifestFile: string,
  pick: (manifest: M) => E | undefined,
  bundleFile: string,
  bootstrapFile: string,
  missing: string,
): PackagedBundle & { entry: E } {
  const dir = join(packageRoot(), assetsDir);
  const manifestPath = join(dir, manifestFile);
  const entry = existsSync(manifestPath)
    ? pick(JSON.parse(readFileSync(manifestPath, 'utf8')) as M)
    : undefined;
  if (entry === undefined)
    throw new Error(
      `${missing}; run \`npm run build\` in the ${PACKAGE_NAME} checkout, or install a packed release`,
    );
  return {
    entry,
    gzip: readFileSync(join(dir, bundleFile)),
    bootstrap: readFileSync(join(dir, bootstrapFile), 'utf8'),
    sha256: entry.sha256,
  };
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
