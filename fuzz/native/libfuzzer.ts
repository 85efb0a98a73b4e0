/**
 * Builds and runs the native fast path's libFuzzer target (fuzz/native/fastpath.c over
 * runtime/transport/native/fastpath/fastpath.c) with clang, AddressSanitizer and UBSan. The
 * bounded run in the tests uses these functions; run as a script it is the long run:
 *
 *   npx tsx fuzz/native/libfuzzer.ts [--time=<seconds>] [--seed=<n>]
 *
 * Defaults: 600 s, seed 1. New inputs accumulate in .fuzz-build/native/corpus/ (the next run
 * starts from them and from the committed seeds); a finding goes to .fuzz-build/native/ and the
 * run exits 1. Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev; the
 * tests' scripts/install-test-peers.sh installs them).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_CORPUS_DIR } from './make-corpus.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HARNESS = path.join(import.meta.dirname, 'fastpath.c');
const FASTPATH_DIR = path.join(ROOT, 'runtime/transport/native/fastpath');

export { BOUNDARY_PREFIX, NATIVE_CORPUS_DIR } from './make-corpus.js';

export interface BuildOptions {
  /** Compiles fastpath.c with PLANT_OOB: its ChannelData length check lets one byte too many through. */
  readonly plantOob?: boolean;
  /**
   * Checks every answer against the harness's reference model. Off (FUZZ_NO_MODEL), the run checks
   * memory safety, the tables' invariants and the API contract only. @default true
   */
  readonly model?: boolean;
}

/** Compiles the fuzzer into `out`; throws with the compiler's output (or how to get clang). */
export function buildFuzzer(out: string, opts: BuildOptions = {}): void {
  const args = [
    '-std=gnu11',
    '-g',
    '-O1',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fsanitize=fuzzer,address,undefined',
    '-fno-sanitize-recover=all',
    ...(opts.plantOob ? ['-DPLANT_OOB'] : []),
    ...(opts.model === false ? ['-DFUZZ_NO_MODEL'] : []),
    `-I${FASTPATH_DIR}`,
    path.join(FASTPATH_DIR, 'fastpath.c'),
    HARNESS,
    '-o',
    out,
  ];
  const r = spawnSync('clang', args, { encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `cannot run clang (${r.error.message}): install clang and libclang-rt-14-dev (scripts/install-test-peers.sh)`,
    );
  if (r.status !== 0) throw new Error(`clang failed (is libclang-rt-14-dev installed?):\n${r.stderr}`);
}

export interface RunOptions {
  /** Wall-time cap. */
  readonly seconds: number;
  /** Input cap (libFuzzer's -runs): a bound that does not depend on the machine's load. */
  readonly runs?: number;
  readonly seed: number;
  /** New inputs go here (libFuzzer writes to the first corpus directory). */
  readonly workDir: string;
  /** Where a crashing input is written. */
  readonly artifactDir: string;
  /** Seed inputs. @default the committed corpus */
  readonly seedDir?: string;
}

export interface RunResult {
  /** libFuzzer's exit status: 0 when the run ended without a finding. */
  readonly status: number | null;
  /** Inputs executed ("Done N runs"), or 0 when the run did not finish. */
  readonly runs: number;
  readonly output: string;
}

/** Runs the fuzzer from the committed seeds plus workDir, for at most `seconds`. */
export function runFuzzer(bin: string, opts: RunOptions): RunResult {
  mkdirSync(opts.workDir, { recursive: true });
  mkdirSync(opts.artifactDir, { recursive: true });
  const r = spawnSync(
    bin,
    [
      `-seed=${opts.seed}`,
      `-max_total_time=${opts.seconds}`,
      ...(opts.runs === undefined ? [] : [`-runs=${opts.runs}`]),
      '-timeout=10',
      '-print_final_stats=1',
      `-artifact_prefix=${opts.artifactDir}${path.sep}`,
      opts.workDir,
      opts.seedDir ?? NATIVE_CORPUS_DIR,
    ],
    { encoding: 'utf8', timeout: (opts.seconds + 60) * 1000 },
  );
  const output = `${r.stdout}${r.stderr}`;
  const done = /Done (\d+) runs/.exec(output);
  return { status: r.status, runs: done ? Number(done[1]) : 0, output };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const flag = (name: string, dflt: string): string =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const dir = path.join(ROOT, '.fuzz-build', 'native');
  mkdirSync(dir, { recursive: true });
  const bin = path.join(dir, 'fastpath-fuzzer');
  buildFuzzer(bin);
  const r = runFuzzer(bin, {
    seconds: Number(flag('time', '600')),
    seed: Number(flag('seed', '1')),
    workDir: path.join(dir, 'corpus'),
    artifactDir: dir,
  });
  console.log(r.output.split('\n').slice(-25).join('\n'));
  console.log(
    `fastpath: ${r.runs} inputs, ${r.status === 0 ? 'no finding' : `a finding (exit ${r.status})`}`,
  );
  if (!existsSync(NATIVE_CORPUS_DIR)) console.error('the committed corpus is missing: run make-corpus.ts');
  process.exit(r.status === 0 ? 0 : 1);
}
