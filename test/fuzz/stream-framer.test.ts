/** Fuzzing and property tests of the ChannelData and stream framer (fuzz/stream-framer.fuzz.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../fuzz/stream-framer.fuzz.js';
import { StreamFramer } from '../../runtime/stun/index.js';
import { fuzzTarget } from './harness.js';

describe('fuzz: ChannelData and stream framer', () => {
  fuzzTarget('stream-framer', fuzz, { runs: 8000, timeMs: 5000, minRuns: 1500 });

  it('property: valid frames cut anywhere arrive whole, in order, and nothing is held beyond what arrived', () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((d) => {
        const f = Buffer.alloc((4 + d.length + 3) & ~3);
        f.writeUInt16BE(0x4001, 0);
        f.writeUInt16BE(d.length, 2);
        Buffer.from(d).copy(f, 4);
        return { wire: f, frame: f.subarray(0, 4 + d.length) };
      }),
      fc.integer({ min: 0, max: 30 }).map((words) => {
        const m = Buffer.alloc(20 + words * 4, 7);
        m.writeUInt16BE(0x0001, 0);
        m.writeUInt16BE(words * 4, 2);
        m.writeUInt32BE(0x2112a442, 4);
        return { wire: m, frame: m };
      }),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => f.wire));
          const got: Buffer[] = [];
          const framer = new StreamFramer(
            (b, s, e) => got.push(Buffer.from(b.subarray(s, e))),
            (r) => {
              throw new Error(r);
            },
          );
          let pos = 0;
          for (let i = 0; pos < stream.length; i++) {
            const end = Math.min(stream.length, pos + cuts[i % cuts.length]!);
            framer.push(Buffer.from(stream.subarray(pos, end)));
            pos = end;
            expect(framer.buffered).toBeLessThanOrEqual(pos);
          }
          expect(got.map((g) => g.toString('hex'))).toEqual(frames.map((f) => f.frame.toString('hex')));
          expect(framer.buffered).toBe(0);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('property: any byte stream in any chunking keeps the target total (no exception)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), (bytes) => fuzz(Buffer.from(bytes))),
      { seed: 42, numRuns: 1500 },
    );
  });
});
