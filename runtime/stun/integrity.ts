/**
 * MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 sec 14.5-14.7).
 *
 * The HMAC covers the message up to the integrity attribute with the header length field set as
 * if that attribute ended the message. Instead of copying the message to patch the length, the
 * HMAC is fed three slices: the type, a 2-byte adjusted length, and the rest of the covered bytes.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Attr, FINGERPRINT_XOR, HEADER_LENGTH } from './constants.js';
import { crc32 } from './crc32.js';
import type { StunAttribute, StunMessage } from './message.js';

export const SHA1_INTEGRITY_LENGTH = 20;

/**
 * Long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 sec 9.2.2), or SHA-256
 * of the same when PASSWORD-ALGORITHM selects SHA-256 (RFC 8489 sec 18.5.1.2).
 */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: 'md5' | 'sha256' = 'md5',
): Buffer {
  return createHash(algorithm).update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/** Short-term credential key: the password bytes (RFC 8489 sec 9.1.1, no SASLprep). */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(password, 'utf8');
}

export function hasIntegrity(msg: StunMessage): boolean {
  return msg.integrityIndex >= 0;
}

/** Which integrity attribute verifyIntegrity will check, so a response can use the same one. */
export function integrityKind(msg: StunMessage): 'sha1' | 'sha256' | undefined {
  if (msg.get(Attr.MESSAGE_INTEGRITY_SHA256) !== undefined) return 'sha256';
  if (msg.get(Attr.MESSAGE_INTEGRITY) !== undefined) return 'sha1';
  return undefined;
}

const lengthScratch = Buffer.alloc(2);

/** HMAC over the message prefix before attr, with the length field adjusted to end after attr. */
export function integrityDigest(
  msg: StunMessage,
  attr: StunAttribute,
  algorithm: 'sha1' | 'sha256',
  key: Buffer,
): Buffer {
  const b = msg.buf;
  const s = msg.start;
  const attrHeader = attr.offset - 4;
  const padded = (attr.length + 3) & ~3;
  lengthScratch.writeUInt16BE(attr.offset + padded - s - HEADER_LENGTH, 0);
  const h = createHmac(algorithm, key);
  h.update(b.subarray(s, s + 2));
  h.update(lengthScratch);
  h.update(b.subarray(s + 4, attrHeader));
  return h.digest();
}

/**
 * Verifies MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY, in constant time.
 * False when absent or malformed (SHA1: 20 bytes; SHA256: 16..32 bytes, a multiple of 4).
 */
export function verifyIntegrity(msg: StunMessage, key: Buffer): boolean {
  const sha256 = msg.get(Attr.MESSAGE_INTEGRITY_SHA256);
  if (sha256 !== undefined) {
    const n = sha256.length;
    if (n < 16 || n > 32 || (n & 3) !== 0) return false;
    const digest = integrityDigest(msg, sha256, 'sha256', key);
    return timingSafeEqual(digest.subarray(0, n), msg.buf.subarray(sha256.offset, sha256.offset + n));
  }
  const sha1 = msg.get(Attr.MESSAGE_INTEGRITY);
  if (sha1 === undefined || sha1.length !== SHA1_INTEGRITY_LENGTH) return false;
  const digest = integrityDigest(msg, sha1, 'sha1', key);
  return timingSafeEqual(digest, msg.buf.subarray(sha1.offset, sha1.offset + SHA1_INTEGRITY_LENGTH));
}

/** FINGERPRINT check: 'absent', 'ok', or 'bad' (wrong CRC, wrong length, or not last). */
export function verifyFingerprint(msg: StunMessage): 'absent' | 'ok' | 'bad' {
  const attrs = msg.attributes;
  let fp: StunAttribute | undefined;
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i]!.type === Attr.FINGERPRINT) {
      fp = attrs[i];
      if (i !== attrs.length - 1) return 'bad';
      break;
    }
  }
  if (fp === undefined) return 'absent';
  if (fp.length !== 4) return 'bad';
  // FINGERPRINT is last, so the header length already covers it: no adjustment needed.
  const want = (crc32(msg.buf, msg.start, fp.offset - 4) ^ FINGERPRINT_XOR) >>> 0;
  return msg.buf.readUInt32BE(fp.offset) === want ? 'ok' : 'bad';
}
