/**
 * The bounded libFuzzer run of the native fast path (fuzz/native/fastpath.c) inside the test
 * suite: from the committed seeds and a fixed seed, clean for its time. Over a build with a planted
 * out-of-bounds read (PLANT_OOB), AddressSanitizer alone finds it by mutation within an input
 * bound, and the full harness finds it on replaying the committed corpus, so a clean run means
 * something. `npx tsx fuzz/native/libfuzzer.ts` is the long run.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BOUNDARY_PREFIX,
  buildFuzzer,
  NATIVE_CORPUS_DIR,
  type RunOptions,
  type RunResult,
  runFuzzer,
} from '../../fuzz/native/libfuzzer.js';

const CLEAN_SECONDS = 40;
const PLANTED_SECONDS = 120;
const PLANTED_RUNS = 1_000_000;
const dir = mkdtempSync(path.join(tmpdir(), 'fastpath-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz: native fast path (libFuzzer, ASan, UBSan)', () => {
  it('has a committed corpus, with seeds at the ChannelData length boundary', () => {
    const files = readdirSync(NATIVE_CORPUS_DIR);
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(files.filter((f) => f.startsWith(BOUNDARY_PREFIX)).length).toBeGreaterThanOrEqual(2);
  });

  it(
    `runs clean for ${CLEAN_SECONDS} s from the committed corpus (seed 1)`,
    () => {
      const bin = path.join(dir, 'fastpath');
      buildFuzzer(bin);
      const r = runFuzzer(bin, {
        seconds: CLEAN_SECONDS,
        seed: 1,
        workDir: path.join(dir, 'clean-corpus'),
        artifactDir: path.join(dir, 'clean-findings'),
      });
      console.log(`fastpath: ${r.runs} inputs in ${CLEAN_SECONDS} s`);
      expect(r.status, r.output.slice(-4000)).toBe(0);
      // Far fewer would mean the run did not really happen.
      expect(r.runs).toBeGreaterThan(20_000);
    },
    (CLEAN_SECONDS + 60) * 1000,
  );

  const plantedRun = (model: boolean, seedDir: string | undefined, bound: Partial<RunOptions>): RunResult => {
    const name = `planted-${model ? 'model' : 'asan'}`;
    const bin = path.join(dir, name);
    buildFuzzer(bin, { plantOob: true, model });
    const findings = path.join(dir, `${name}-findings`);
    const r = runFuzzer(bin, {
      seconds: PLANTED_SECONDS,
      seed: 1,
      workDir: path.join(dir, `${name}-corpus`),
      artifactDir: findings,
      ...(seedDir === undefined ? {} : { seedDir }),
      ...bound,
    });
    expect(r.status, r.output.slice(-4000)).not.toBe(0);
    expect(readdirSync(findings).some((f) => f.startsWith('crash-'))).toBe(true);
    expect(r.output).toMatch(/AddressSanitizer: heap-buffer-overflow/);
    expect(r.output).toMatch(/READ of size 1/);
    return r;
  };

  it(
    'AddressSanitizer alone finds a planted out-of-bounds read in the ChannelData parser by search',
    () => {
      // Without the seeds that already sit at the boundary, and without the reference model (which
      // would see the wrong answer first): the mutations have to reach it. Bounded by inputs, so
      // that the machine's load does not decide; runs took 6,000 to 70,000 inputs to find it.
      const seeds = path.join(dir, 'seeds-without-boundary');
      mkdirSync(seeds);
      for (const f of readdirSync(NATIVE_CORPUS_DIR))
        if (!f.startsWith(BOUNDARY_PREFIX))
          copyFileSync(path.join(NATIVE_CORPUS_DIR, f), path.join(seeds, f));
      plantedRun(false, seeds, { runs: PLANTED_RUNS });
    },
    (PLANTED_SECONDS + 60) * 1000,
  );

  it(
    'the committed corpus holds the boundary: the full harness finds the planted read on replay',
    () => {
      const r = plantedRun(true, undefined, { runs: 0 });
      expect(r.output).toMatch(/in LLVMFuzzerTestOneInput/);
    },
    (PLANTED_SECONDS + 60) * 1000,
  );
});
