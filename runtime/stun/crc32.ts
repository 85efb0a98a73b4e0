/**
 * CRC-32 (ISO 3309 / IEEE 802.3, reflected polynomial 0xEDB88320) with precomputed tables,
 * processed 8 bytes per step ("slicing-by-8") since FINGERPRINT is checked per message.
 */

/** 8 tables of 256 entries: TABLES[k * 256 + n]. Table 0 is the classic byte-wise table. */
const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/** CRC-32 of buf[start, end), continuing from a previous CRC when given. */
export function crc32(buf: Uint8Array, start = 0, end: number = buf.length, previous = 0): number {
  const t = TABLES;
  let c = ~previous;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Byte-at-a-time reference implementation (kept for tests). */
export function crc32Bytewise(buf: Uint8Array, start = 0, end: number = buf.length): number {
  let c = ~0;
  for (let i = start; i < end; i++) c = TABLES[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
