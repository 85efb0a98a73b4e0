/** Fuzzing and property tests of the /ice query parser (fuzz/ice-query.fuzz.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../fuzz/ice-query.fuzz.js';
import { parseIceQuery } from '../../runtime/ice/query.js';
import { fuzzTarget } from './harness.js';

describe('fuzz: /ice query parser', () => {
  fuzzTarget('ice-query', fuzz, { runs: 40_000, timeMs: 5000, minRuns: 5000 });

  it('property: valid queries parse and round-trip', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.record({
          username: fc.stringMatching(/^[^\x00-\x20\x7f:]{1,30}$/),
          ttl: fc.integer({ min: 1, max: 365 * 86_400 }),
          namespace: name,
          gateway: name,
          iceTransportPolicy: fc.constantFrom('all', 'relay', 'public'),
        }),
        (q) => {
          const r = parseIceQuery(
            new URLSearchParams({ service: 'turn', ...q, ttl: String(q.ttl) }).toString(),
          );
          expect(r).toEqual({ ok: true, query: { service: 'turn', listener: undefined, ...q } });
        },
      ),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('property: any string keeps the target total (no exception)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: 'grapheme' }), (s) => fuzz(Buffer.from(`\u0000${s}`))),
      { seed: 42, numRuns: 3000 },
    );
  });
});
