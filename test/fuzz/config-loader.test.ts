/** Fuzzing and property tests of the config loader (fuzz/config-loader.fuzz.ts). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  validateConfig,
  validateConfigText,
} from '../../contract/config/index.js';
import { fuzz } from '../../fuzz/config-loader.fuzz.js';
import { committedCorpus } from '../../fuzz/engine/corpus.js';
import { fuzzTarget } from './harness.js';

describe('fuzz: config loader', () => {
  fuzzTarget('config-loader', fuzz, { runs: 3000, timeMs: 6000, minRuns: 500 });

  it('property: any JSON value validates to a config or to path: reason problems, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const r = validateConfig(v, { env: {} });
        if (!r.ok) for (const p of r.problems) expect(p.message).not.toMatch(/\n/);
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('property: any text validates without an exception', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (s) => {
        validateConfigText(s, { env: {} });
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('loadConfigFile: every corpus file and the YAML alias bombs load or throw ConfigError, nothing else', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fuzz-config-'));
    try {
      const texts = [
        ...committedCorpus('config-loader').map((b) => b.subarray(1).toString('utf8')),
        'a: *undefined_anchor\n',
        `a: &a [x,x,x,x,x,x,x,x,x]\n${Array.from(
          { length: 9 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(',')}]`,
        ).join('\n')}\n`,
      ];
      for (const [i, t] of texts.entries()) {
        const f = path.join(dir, `c${i}.yaml`);
        await writeFile(f, t);
        try {
          await loadConfigFile(f, { env: {} });
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          expect(
            (e as Error).message
              .split('\n')
              .slice(1)
              .every((l) => /^ {2}\S.*: \S/.test(l)),
          ).toBe(true);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
