/**
 * `npm run build` (and `npm pack`, through prepack): everything the package ships, into lib/.
 *   lib/{constructs,contract,runtime/ice}/  ES modules and .d.ts, compiled by tsc
 *   lib/cjs/*.cjs                          the same public entry points for require() (the
 *                                          construct ones share cjs/constructs.cjs)
 *   lib/assets/                            the prebuilt runtime (bundle, bootstrap, digest)
 *   lib/tools/tools.mjs                    the operator tools (bin/stunnerctl.mjs, bin/turncat.mjs)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { writeAssets } from './assets.js';
import { REPO_ROOT } from './runtime-bundle.js';
import { writeTools } from './tools-bundle.js';

/** The public entry points: package.json `exports` maps each subpath to these files. */
export const ENTRY_POINTS = {
  index: 'lib/constructs/index.js',
  demos: 'lib/constructs/demos/index.js',
  gitops: 'lib/constructs/gitops/index.js',
  config: 'lib/contract/index.js',
  'ice-client': 'lib/runtime/ice/client.js',
} as const;

/**
 * The construct entry points share one CommonJS bundle (`cjs/constructs.cjs`), each exporting
 * its namespace of it: bundled apart, each would carry its own copy of the classes and of the
 * per-app registries, and a gateway from one would not see a route or an Argo CD app of another.
 */
const SHARED_CONSTRUCTS = [
  'index',
  'demos',
  'gitops',
] as const satisfies readonly (keyof typeof ENTRY_POINTS)[];

const LIB = join(REPO_ROOT, 'lib');

function compile(outDir: string): void {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status})`);
}

/**
 * CommonJS consumers (a `cdk8s init typescript-app` project under ts-node) require() these. Every
 * package stays external, so cdk8s and constructs resolve to the consumer's single copy.
 */
function commonJs(outDir: string): void {
  const options = {
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    // The ES modules find the package's assets from import.meta.url.
    define: { 'import.meta.url': '__stunnerImportMetaUrl' },
    banner: { js: "const __stunnerImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  } as const;
  const shared = new Set<string>(SHARED_CONSTRUCTS);
  buildSync({
    ...options,
    stdin: {
      contents: SHARED_CONSTRUCTS.map(
        (name) => `export * as ${cjsName(name)} from './${ENTRY_POINTS[name].replace(/^lib\//, '')}';`,
      ).join('\n'),
      resolveDir: outDir,
      sourcefile: 'constructs-entry.js',
    },
    outfile: join(outDir, 'cjs', 'constructs.cjs'),
  });
  for (const name of SHARED_CONSTRUCTS)
    writeFileSync(
      join(outDir, 'cjs', `${name}.cjs`),
      `'use strict';\nmodule.exports = require('./constructs.cjs').${cjsName(name)};\n`,
    );
  for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
    if (shared.has(name)) continue;
    buildSync({
      ...options,
      entryPoints: [join(outDir, entry.replace(/^lib\//, ''))],
      outfile: join(outDir, 'cjs', `${name}.cjs`),
    });
  }
}

/** The namespace of an entry point in the shared bundle. */
function cjsName(entry: string): string {
  return entry === 'index' ? 'root' : entry;
}

/** Builds into lib.next/ and then swaps it in, so that a reader of lib/ never sees half a build. */
export function build(): void {
  const next = `${LIB}.next`;
  const old = `${LIB}.old`;
  rmSync(next, { recursive: true, force: true });
  compile(next);
  commonJs(next);
  const { sha256, bytes } = writeAssets(join(next, 'assets'));
  const tools = writeTools(next);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(LIB)) renameSync(LIB, old);
  renameSync(next, LIB);
  rmSync(old, { recursive: true, force: true });
  console.log(
    `built lib/: ES modules, CommonJS entry points, runtime ${bytes} bytes gzipped (sha256 ${sha256}), tools ${tools.rawBytes} bytes (${tools.gzip.byteLength} gzipped)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    build();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
