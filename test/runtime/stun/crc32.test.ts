/** CRC-32 against the standard check value, the byte-wise table, and zlib where Node has it. */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Bytewise } from '../../../runtime/stun/crc32.js';

describe('crc32', () => {
  it('matches the CRC-32 check value and known strings', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('slicing-by-8 equals byte-wise for every length and offset, and continues a previous CRC', () => {
    const data = Buffer.alloc(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (let s = 0; s < 9; s++) {
      for (let e = s; e <= data.length; e += 1 + (e % 5)) {
        expect(crc32(data, s, e)).toBe(crc32Bytewise(data, s, e));
      }
    }
    expect(crc32(data, 100, 300, crc32(data, 0, 100))).toBe(crc32(data));
    const z = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    if (typeof z === 'function') expect(crc32(data)).toBe(z(data));
  });
});
