/**
 * Zero-copy STUN message parser (RFC 8489 sec 5, 14).
 *
 * A parsed message holds the received Buffer and the offsets of its attributes; values are read
 * through subarray views. parseStunMessage never throws: every malformation is an { error }.
 */
import {
  Attr,
  classOf,
  HEADER_LENGTH,
  isComprehensionRequired,
  KNOWN_ATTRIBUTES,
  MAGIC_COOKIE,
  methodOf,
} from './constants.js';

export interface StunAttribute {
  readonly type: number;
  /** Start of the value in msg.buf (the attribute header is the 4 bytes before it). */
  readonly offset: number;
  /** Value length as on the wire, without padding. */
  readonly length: number;
}

export class StunMessage {
  /** The received buffer, not copied. */
  readonly buf: Buffer;
  /** Header offset in buf. */
  readonly start: number;
  /** Total bytes including the 20-byte header. */
  readonly length: number;
  readonly type: number;
  readonly method: number;
  readonly cls: number;
  /** In wire order, up to and including FINGERPRINT. */
  readonly attributes: readonly StunAttribute[];
  /**
   * Index in attributes of the first MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256, or -1.
   * Attributes after it are ignored (RFC 8489 sec 14.5/14.6) except integrity/FINGERPRINT.
   */
  readonly integrityIndex: number;

  constructor(
    buf: Buffer,
    start: number,
    length: number,
    type: number,
    attributes: readonly StunAttribute[],
    integrityIndex: number,
  ) {
    this.buf = buf;
    this.start = start;
    this.length = length;
    this.type = type;
    this.method = methodOf(type);
    this.cls = classOf(type);
    this.attributes = attributes;
    this.integrityIndex = integrityIndex;
  }

  /** 12-byte subarray view of the transaction ID. */
  transactionId(): Buffer {
    return this.buf.subarray(this.start + 8, this.start + HEADER_LENGTH);
  }

  /** Cheap Map key for a retransmission cache (hex of the transaction ID). */
  transactionKey(): string {
    return this.buf.toString('hex', this.start + 8, this.start + HEADER_LENGTH);
  }

  /**
   * First occurrence of an attribute. After MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
   * FINGERPRINT count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
   */
  get(type: number): StunAttribute | undefined {
    const attrs = this.attributes;
    let sha1Seen = false;
    let sha256Seen = false;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      if (sha256Seen) {
        if (a.type !== Attr.FINGERPRINT) continue;
      } else if (sha1Seen) {
        if (a.type !== Attr.FINGERPRINT && a.type !== Attr.MESSAGE_INTEGRITY_SHA256) continue;
      }
      if (a.type === type) return a;
      if (a.type === Attr.MESSAGE_INTEGRITY) sha1Seen = true;
      else if (a.type === Attr.MESSAGE_INTEGRITY_SHA256) sha256Seen = true;
    }
    return undefined;
  }

  has(type: number): boolean {
    return this.get(type) !== undefined;
  }

  /** Subarray view of the value of the first occurrence (see get). */
  value(type: number): Buffer | undefined {
    const a = this.get(type);
    return a === undefined ? undefined : this.buf.subarray(a.offset, a.offset + a.length);
  }

  /** Comprehension-required attribute types this codec does not know (for 420 UNKNOWN-ATTRIBUTES). */
  unknownRequired(): number[] {
    const out: number[] = [];
    const attrs = this.attributes;
    const last = this.integrityIndex < 0 ? attrs.length : this.integrityIndex;
    for (let i = 0; i < last; i++) {
      const t = attrs[i]!.type;
      if (isComprehensionRequired(t) && !KNOWN_ATTRIBUTES.has(t) && !out.includes(t)) out.push(t);
    }
    return out;
  }
}

/**
 * Most attributes accepted in one message. Real messages carry a few dozen; the cap keeps a
 * 64 KiB datagram of empty attributes from costing 16k allocations.
 */
export const MAX_ATTRIBUTES = 512;

export type ParseResult = StunMessage | { readonly error: string };

/** Type guard for the error branch of ParseResult. */
export function isParseError(r: ParseResult): r is { readonly error: string } {
  return !(r instanceof StunMessage);
}

/** First two bits 00, magic cookie present, length a multiple of 4 that fits: a cheap pre-check. */
export function looksLikeStun(buf: Buffer, start = 0): boolean {
  if (start < 0 || buf.length - start < HEADER_LENGTH) return false;
  if ((buf[start]! & 0xc0) !== 0) return false;
  if (buf.readUInt32BE(start + 4) !== MAGIC_COOKIE) return false;
  const len = buf.readUInt16BE(start + 2);
  return (len & 3) === 0 && start + HEADER_LENGTH + len <= buf.length;
}

/**
 * Parses one STUN message occupying exactly buf[start, end). Never throws.
 * Checks: header size, leading zero bits, magic cookie, length field (multiple of 4 and equal to
 * the bytes available), each attribute fits, FINGERPRINT is the last attribute, and at most
 * MAX_ATTRIBUTES attributes.
 */
export function parseStunMessage(buf: Buffer, start = 0, end: number = buf.length): ParseResult {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > buf.length || end < start) {
    return { error: `invalid range [${start}, ${end}) for a buffer of ${buf.length} bytes` };
  }
  const size = end - start;
  if (size < HEADER_LENGTH) return { error: `truncated header: ${size} of ${HEADER_LENGTH} bytes` };
  const type = buf.readUInt16BE(start);
  if ((type & 0xc000) !== 0) return { error: 'not STUN: the first two bits of the header are not zero' };
  if (buf.readUInt32BE(start + 4) !== MAGIC_COOKIE) return { error: 'not STUN: magic cookie missing' };
  const bodyLength = buf.readUInt16BE(start + 2);
  if ((bodyLength & 3) !== 0) return { error: `message length ${bodyLength} is not a multiple of 4` };
  if (bodyLength > size - HEADER_LENGTH) {
    return { error: `message length ${bodyLength} exceeds the ${size - HEADER_LENGTH} bytes received` };
  }
  if (bodyLength < size - HEADER_LENGTH) {
    return {
      error: `message length ${bodyLength} is shorter than the ${size - HEADER_LENGTH} bytes received`,
    };
  }
  const attributes: StunAttribute[] = [];
  let integrityIndex = -1;
  let pos = start + HEADER_LENGTH;
  while (pos < end) {
    if (end - pos < 4) return { error: `truncated attribute header at byte ${pos - start}` };
    const at = buf.readUInt16BE(pos);
    const alen = buf.readUInt16BE(pos + 2);
    const valueStart = pos + 4;
    const padded = (alen + 3) & ~3;
    if (padded > end - valueStart) {
      return {
        error: `attribute 0x${at.toString(16).padStart(4, '0')} at byte ${pos - start} overruns the message (length ${alen})`,
      };
    }
    if (attributes.length > 0 && attributes[attributes.length - 1]!.type === Attr.FINGERPRINT) {
      return {
        error: `FINGERPRINT is not the last attribute (0x${at.toString(16).padStart(4, '0')} follows)`,
      };
    }
    if (attributes.length === MAX_ATTRIBUTES) return { error: `more than ${MAX_ATTRIBUTES} attributes` };
    if (integrityIndex < 0 && (at === Attr.MESSAGE_INTEGRITY || at === Attr.MESSAGE_INTEGRITY_SHA256)) {
      integrityIndex = attributes.length;
    }
    attributes.push({ type: at, offset: valueStart, length: alen });
    pos = valueStart + padded;
  }
  return new StunMessage(buf, start, size, type, attributes, integrityIndex);
}
