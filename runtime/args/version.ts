/**
 * What `--version` prints for every tool: the package version and which runtime bundle goes with
 * it, said honestly. The bundles carry the version (esbuild defines __PACKAGE_VERSION__);
 * the runtime digest is the sha256 of the gzipped bundle (lib/assets/runtime.json), which a bundle
 * cannot carry inside itself: the installed tools read the manifest next to them, bin/stunnerd.mjs
 * hands it to the runtime it unpacks through RUNTIME_DIGEST_ENV, and a source checkout says that it
 * runs the TypeScript sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __PACKAGE_VERSION__: string | undefined;

/** Set by bin/stunnerd.mjs for the runtime it unpacks: the digest from lib/assets/runtime.json. */
export const RUNTIME_DIGEST_ENV = 'STUNNERD_RUNTIME_SHA256';

const PACKAGE = 'stunner-gitops';

function packageRoot(): string | undefined {
  let dir: string;
  try {
    dir = dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export interface VersionInfo {
  readonly version: string;
  /** sha256 of the gzipped runtime bundle, when known. */
  readonly runtimeSha256?: string;
  /** How the runtime is known, or why it is not. */
  readonly runtime: string;
}

export function versionInfo(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  const root = packageRoot();
  const bundled = typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : undefined;
  const fromPackage = root === undefined ? undefined : readJson(join(root, 'package.json'))?.version;
  const version = bundled ?? (typeof fromPackage === 'string' ? fromPackage : 'unknown');
  const given = env[RUNTIME_DIGEST_ENV];
  if (given !== undefined && /^[0-9a-f]{64}$/.test(given))
    return { version, runtimeSha256: given, runtime: `runtime sha256 ${given}` };
  const manifest = root === undefined ? undefined : readJson(join(root, 'lib', 'assets', 'runtime.json'));
  const sha = typeof manifest?.sha256 === 'string' ? manifest.sha256 : undefined;
  if (root !== undefined && existsSync(join(root, 'tools', 'pod-main.ts'))) {
    // A checkout runs the TypeScript sources; a built bundle may be older than them.
    return {
      version,
      runtime:
        sha === undefined
          ? 'runtime: source checkout (runs the TypeScript sources; no bundle built)'
          : `runtime: source checkout (runs the TypeScript sources; the last build in lib/assets/runtime.json has sha256 ${sha})`,
      ...(sha !== undefined ? { runtimeSha256: sha } : {}),
    };
  }
  if (sha !== undefined) return { version, runtimeSha256: sha, runtime: `runtime sha256 ${sha}` };
  return {
    version,
    runtime: 'runtime sha256 not known here (a gateway pod carries it as its runtime-sha256 annotation)',
  };
}

/** `<tool> <version> (stunner-gitops), <runtime>`. */
export function versionText(tool: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = versionInfo(env);
  return `${tool} ${v.version} (${PACKAGE}), ${v.runtime}`;
}
