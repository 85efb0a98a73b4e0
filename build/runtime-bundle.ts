/**
 * Builds the runtime as it ships inside the manifests: the pods' program (tools/pod-main.ts: the
 * runtime and `stunnerd icetest`) bundled by esbuild into one ESM file (with the batched UDP module
 * inlined), gzipped deterministically, plus the bootstrap
 * that stock Node.js runs in the pod. `npm run build` writes the result into lib/assets/, where
 * the constructs read it: a synth, here or in a consumer's project, never runs a bundler.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type Message } from 'esbuild';
import { gzipSync } from 'fflate';
import { PREBUILT_FILE } from '../runtime/transport/native/udp-batch.js';

/** The repository root: the bundle entry and esbuild's working directory are resolved from it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The pods' program, relative to the repository root: runtime/main.ts plus `stunnerd icetest`. */
export const RUNTIME_ENTRY = 'tools/pod-main.ts';
/** The pod bootstrap, shipped as readable text next to the bundle. */
export const BOOTSTRAP_SOURCE = 'runtime/bootstrap.mjs';

// ESM output cannot `require()` Node builtins from bundled CommonJS dependencies without this.
const BANNER = [
  "import { createRequire as __stunnerdRequire } from 'node:module';",
  'const require = __stunnerdRequire(import.meta.url);',
].join('\n');

export interface RuntimeBundle {
  /** The bundle itself (what `npm run image` puts into the image, build/image/). */
  readonly js: Uint8Array;
  /** The gzipped bundle: stored in ConfigMap binaryData. */
  readonly gzip: Buffer;
  /** Size of the bundle before compression. */
  readonly rawBytes: number;
  /** sha256 of the gzipped bundle: a pod template annotation, so a new runtime rolls the pods. */
  readonly sha256: string;
}

/** A bundling failure, with esbuild's messages as `file:line:column: text` lines. */
export class RuntimeBundleError extends Error {
  constructor(
    readonly entry: string,
    readonly details: readonly string[],
  ) {
    super(`cannot bundle the runtime from ${entry}:\n    ${details.join('\n    ')}`);
    this.name = 'RuntimeBundleError';
  }
}

/** Bundles and gzips the runtime from `entry` (relative to the repository root). Throws RuntimeBundleError. */
export function bundleRuntime(entry = RUNTIME_ENTRY): RuntimeBundle {
  return bundleAndGzip(entry, {
    banner: BANNER,
    define: {
      'process.env.NODE_ENV': '"production"',
      __STUNNERD_UDP_BATCH__: nativeModuleLiteral(),
      __PACKAGE_VERSION__: packageVersionLiteral(),
    },
  });
}

/** What differs between the programs we ship: the rest of the esbuild options is shared. */
export interface ShippedBundleOptions {
  /** The ESM banner (a `require` for bundled CommonJS dependencies). */
  readonly banner: string;
  readonly define: Record<string, string>;
  readonly external?: readonly string[];
}

/**
 * Bundles `entry` (relative to the repository root) into one minified ESM file for stock Node.js
 * and gzips it deterministically: the runtime and the demo servers ship this way. Throws
 * RuntimeBundleError with esbuild's messages.
 */
export function bundleAndGzip(entry: string, options: ShippedBundleOptions): RuntimeBundle {
  const abs = resolve(REPO_ROOT, entry);
  const shown = relative(REPO_ROOT, abs) || abs;
  let js: Uint8Array | undefined;
  try {
    const out = buildSync({
      entryPoints: [abs],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      keepNames: true,
      legalComments: 'eof',
      charset: 'utf8',
      banner: { js: options.banner },
      ...(options.external !== undefined ? { external: [...options.external] } : {}),
      define: options.define,
      write: false,
      logLevel: 'silent',
    });
    js = out.outputFiles[0]?.contents;
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0)
      throw new RuntimeBundleError(shown, errors.map(formatMessage));
    throw new RuntimeBundleError(shown, [e instanceof Error ? e.message : String(e)]);
  }
  if (js === undefined) throw new RuntimeBundleError(shown, ['esbuild produced no output']);
  // A pure-JS deflate with mtime 0: the platform zlib's output varies with its version and the
  // CPU's SIMD features, and the shipped bytes must be the same wherever they are built.
  const gzip = Buffer.from(gzipSync(js, { level: 9, mem: 12, mtime: 0 }));
  return { js, gzip, rawBytes: js.byteLength, sha256: createHash('sha256').update(gzip).digest('hex') };
}

/** The package version, for `--version` (runtime/args/version.ts): a bundle has no package.json. */
export function packageVersionLiteral(): string {
  return JSON.stringify(
    (JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
  );
}

/**
 * The batched UDP I/O module (runtime/transport/native), inlined as a base64 string literal: the runtime
 * writes it to its temp dir and loads it on linux-x64, so the pods need no image of their own.
 */
function nativeModuleLiteral(): string {
  return JSON.stringify(
    readFileSync(resolve(REPO_ROOT, 'runtime/transport/native', PREBUILT_FILE)).toString('base64'),
  );
}

function formatMessage(m: Message): string {
  const loc = m.location;
  return loc ? `${loc.file}:${loc.line}:${loc.column}: ${m.text}` : m.text;
}

/** The bootstrap's source text: stored as plain `data` so that reviewers can read it in git. */
export function bootstrapSource(): string {
  return readFileSync(resolve(REPO_ROOT, BOOTSTRAP_SOURCE), 'utf8');
}
