/**
 * Builds the operator tools as the package ships them: tools/main.ts (stunnerctl, turncat and
 * `stunnerctl icetest`) bundled by esbuild into one ESM file, lib/tools/tools.mjs, which
 * bin/stunnerctl.mjs and bin/turncat.mjs import when installed. Apart from the pods' bundle, so
 * that the pods carry none of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAndGzip, packageVersionLiteral, type RuntimeBundle } from './runtime-bundle.js';

/** The tools' entry, relative to the repository root. */
export const TOOLS_ENTRY = 'tools/main.ts';
/** Where the bundle goes, relative to lib/ (the bins import it from there). */
export const TOOLS_BUNDLE = 'tools/tools.mjs';

const BANNER = [
  "import { createRequire as __toolsRequire } from 'node:module';",
  'const require = __toolsRequire(import.meta.url);',
].join('\n');

/**
 * The package's own dependencies stay imports: npm installs them next to lib/, and bundling them
 * again would add their size to the tarball a second time (the pods' bundle already carries them).
 */
export const TOOLS_EXTERNAL: readonly string[] = ['yaml', 'yargs', 'zod'];

/** Bundles the tools. Throws RuntimeBundleError with esbuild's messages. */
export function bundleTools(): RuntimeBundle {
  return bundleAndGzip(TOOLS_ENTRY, {
    banner: BANNER,
    define: { 'process.env.NODE_ENV': '"production"', __PACKAGE_VERSION__: packageVersionLiteral() },
    external: TOOLS_EXTERNAL,
  });
}

/** Writes the tools bundle into `libDir` (lib/ or the build's lib.next/). */
export function writeTools(libDir: string): RuntimeBundle {
  const bundle = bundleTools();
  mkdirSync(join(libDir, 'tools'), { recursive: true });
  writeFileSync(join(libDir, TOOLS_BUNDLE), bundle.js);
  return bundle;
}
