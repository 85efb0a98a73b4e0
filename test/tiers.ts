/**
 * The test tiers, by what each file does:
 * - unit (`npm run test:unit`, files in parallel): everything in one process, from pure functions
 *   to the relay in-process on loopback sockets;
 * - integration (`npm run test:integration`, one file at a time): a file that starts a child
 *   process (a pod, stunnerd's bin, a TURN peer, openssl, git, npm, an image registry, a
 *   container), drives a browser, packs the library, or loads the machine (floods, soak, deadlines
 *   measured under load).
 * The cluster, Argo CD and differential tiers have their own directories and configs.
 *
 * A file's own text decides, so a file that moves keeps its tier, and a new file that starts a
 * process lands in integration. test/architecture/tiers.test.ts checks the partition.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.url: the vitest configs read this file bundled, where it still names this file
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Directories of their own tiers (vitest.cluster/argocd/differential.config.ts). */
export const OTHER_TIERS = ['test/cluster/', 'test/differential/'] as const;

/**
 * What in a file's text starts a process, a browser or a pack (the helpers named start one), or
 * runs a fuzz campaign.
 */
export const INTEGRATION_MARKERS: readonly RegExp[] = [
  /['"](node:)?child_process['"]/,
  /\bplaywright/,
  /\bBrowserHarness\b/,
  /\b(startPod|startAuthPod|spawnStunnerd|startStunnerd|runUclient|startPeer|runScript|selfSignedCert|startRegistry|runContainer)\(/,
  /\/bench\/servers\.js'/, // bench's relays run as processes
  /\b(fuzzTarget|runFuzzer)\(/, // a coverage-guided campaign (JS or libFuzzer) of tens of thousands of inputs
];

/**
 * Files that start nothing but load the machine or measure time under load: in parallel with
 * other files on two cores they would measure the neighbours. By file name, wherever it lives.
 */
export const TIMING_HEAVY: readonly string[] = [
  'floods.test.ts', // packet floods against an in-process gateway, RSS settling
  'unauthenticated-flood.test.ts', // the same, unauthenticated
  'hot-reload.test.ts', // 100 reloads under relay load, no datagram lost
  'stream-slowloris.test.ts', // connection deadlines measured in wall-clock time
];

export type Tier = 'unit' | 'integration';

/** Why a file is in the integration tier, or undefined for unit. */
export function integrationReason(file: string, text: string): string | undefined {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (TIMING_HEAVY.includes(name)) return 'timing-heavy';
  const hit = INTEGRATION_MARKERS.find((m) => m.test(text));
  return hit ? `matches ${hit}` : undefined;
}

/** Every test file (repository-relative, `/`-separated) outside the cluster and differential tiers. */
export function testFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.test.ts')) out.push(relative(ROOT, p).split(sep).join('/'));
    }
  };
  walk(join(ROOT, 'test'));
  return out.filter((f) => !OTHER_TIERS.some((d) => f.startsWith(d))).sort();
}

export function tierOf(file: string): Tier {
  return integrationReason(file, readFileSync(join(ROOT, file), 'utf8')) === undefined
    ? 'unit'
    : 'integration';
}

export const filesOf = (tier: Tier): string[] => testFiles().filter((f) => tierOf(f) === tier);
