/**
 * The bounded fuzzing run inside `npm test`: a target's committed corpus is replayed, then the
 * coverage-guided engine (fuzz/engine/engine.ts over Jazzer.js's instrumentation) runs it for a fixed
 * number of inputs from a fixed seed, within a time cap. `npm run fuzz` is the long run.
 */
import { expect, it } from 'vitest';
import { committedCorpus, type TargetName } from '../../fuzz/engine/corpus.js';
import { runEngine } from '../../fuzz/engine/engine.js';
import { instrumentTarget } from '../../fuzz/engine/instrument.js';

export interface BoundedRun {
  /** Inputs to run (the corpus included). */
  readonly runs: number;
  /** Wall-time cap; the run must still reach minRuns within it. */
  readonly timeMs: number;
  /** Fewer executions than this means the run did not really happen. */
  readonly minRuns: number;
}

export function fuzzTarget(name: TargetName, fuzz: (data: Buffer) => void, bounds: BoundedRun): void {
  it(`replays the committed corpus of ${name} without a finding`, () => {
    const corpus = committedCorpus(name);
    expect(corpus.length).toBeGreaterThan(0);
    for (const input of corpus) fuzz(input);
  });

  it(
    `${name}: ${bounds.runs} coverage-guided inputs (seed 1), no crash, no slow input`,
    () => {
      const t = instrumentTarget(name);
      const r = runEngine(t.fuzz, {
        seed: 1,
        runs: bounds.runs,
        timeMs: bounds.timeMs,
        corpus: committedCorpus(name),
        coverage: t.coverage,
        dictionary: t.dictionary,
        slowMs: 1000,
      });
      const summary = `${name}: ${r.executions} inputs in ${r.elapsedMs.toFixed(0)} ms, ${r.edges}/${t.edges} branches, corpus ${r.corpusSize}`;
      console.log(summary);
      expect(
        r.findings.map((f) => `${f.kind}: ${f.message} on ${f.input.toString('hex').slice(0, 200)}`),
      ).toEqual([]);
      expect(r.executions).toBeGreaterThanOrEqual(bounds.minRuns);
      expect(r.edges).toBeGreaterThan(0);
    },
    bounds.timeMs + 15_000,
  );
}
