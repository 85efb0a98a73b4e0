/** Fuzzing and property tests of the STUN/TURN codec (fuzz/stun-codec.fuzz.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../fuzz/stun-codec.fuzz.js';
import {
  Attr,
  isParseError,
  parseStunMessage,
  StunMessageBuilder,
  verifyFingerprint,
  verifyIntegrity,
} from '../../runtime/stun/index.js';
import { fuzzTarget } from './harness.js';

const RESERVED = new Set<number>([Attr.MESSAGE_INTEGRITY, Attr.MESSAGE_INTEGRITY_SHA256, Attr.FINGERPRINT]);

describe('fuzz: STUN/TURN codec', () => {
  fuzzTarget('stun-codec', fuzz, { runs: 40_000, timeMs: 5000, minRuns: 5000 });

  it('property: decode(encode(m)) === m for generated messages, with integrity and fingerprint', () => {
    const attr = fc.record({
      type: fc.integer({ min: 0, max: 0xffff }).filter((t) => !RESERVED.has(t)),
      value: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xfff }),
        fc.constantFrom(0x000, 0x010, 0x100, 0x110),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.array(attr, { maxLength: 10 }),
        fc.boolean(),
        (method, cls, txid, attrs, withFp) => {
          const b = new StunMessageBuilder(method, cls, Buffer.from(txid));
          for (const a of attrs) b.addBuffer(a.type, Buffer.from(a.value));
          const key = Buffer.from('k');
          const buf = b.build({ integrityKey: key, fingerprint: withFp });
          const m = parseStunMessage(buf);
          if (isParseError(m)) throw new Error(m.error);
          expect([m.method, m.cls]).toEqual([method, cls]);
          expect(
            m.attributes
              .slice(0, attrs.length)
              .map((a) => [a.type, [...buf.subarray(a.offset, a.offset + a.length)]]),
          ).toEqual(attrs.map((a) => [a.type, [...a.value]]));
          expect(verifyIntegrity(m, key)).toBe(true);
          expect(verifyFingerprint(m)).toBe(withFp ? 'ok' : 'absent');
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('property: any datagram, raw or structured, keeps the target total (no exception)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => fuzz(Buffer.from(bytes))),
      { seed: 42, numRuns: 3000 },
    );
  });
});
