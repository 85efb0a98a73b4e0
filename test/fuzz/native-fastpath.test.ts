/**
 * The bounded libFuzzer run of the native fast path (fuzz/native/fastpath.c) inside the test
 * suite: from the committed seeds and a fixed seed, clean for its time; and over a build with a
 * planted out-of-bounds read (PLANT_OOB) it reports the bug within its bound, both through
 * AddressSanitizer alone (the harness without its reference model) and through the full harness,
 * so a clean run means something. `npx tsx fuzz/native/libfuzzer.ts` is the long run.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFuzzer, NATIVE_CORPUS_DIR, type RunResult, runFuzzer } from '../../fuzz/native/libfuzzer.js';

const CLEAN_SECONDS = 40;
const PLANTED_SECONDS = 60;
const dir = mkdtempSync(path.join(tmpdir(), 'fastpath-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz: native fast path (libFuzzer, ASan, UBSan)', () => {
  it('has a committed corpus', () => {
    expect(readdirSync(NATIVE_CORPUS_DIR).length).toBeGreaterThanOrEqual(5);
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

  const planted = (model: boolean): RunResult => {
    const name = model ? 'planted' : 'planted-no-model';
    const bin = path.join(dir, name);
    buildFuzzer(bin, { plantOob: true, model });
    const findings = path.join(dir, `${name}-findings`);
    const r = runFuzzer(bin, {
      seconds: PLANTED_SECONDS,
      seed: 1,
      workDir: path.join(dir, `${name}-corpus`),
      artifactDir: findings,
    });
    expect(r.status, r.output.slice(-4000)).not.toBe(0);
    expect(readdirSync(findings).some((f) => f.startsWith('crash-'))).toBe(true);
    return r;
  };

  it(
    'AddressSanitizer alone finds a planted out-of-bounds read in the ChannelData parser',
    () => {
      const r = planted(false);
      expect(r.output).toMatch(/AddressSanitizer: heap-buffer-overflow/);
      expect(r.output).toMatch(/READ of size 1/);
    },
    (PLANTED_SECONDS + 60) * 1000,
  );

  it(
    'the full harness finds it too (its reference model sees the wrong answer first)',
    () => {
      const r = planted(true);
      expect(r.output).toMatch(/fastpath contract broken|AddressSanitizer: heap-buffer-overflow/);
    },
    (PLANTED_SECONDS + 60) * 1000,
  );
});
