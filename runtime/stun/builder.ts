/** Builds STUN messages: attributes in call order, then MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT. */
import { createHmac, randomFillSync } from 'node:crypto';
import type { TransportAddress } from './attributes.js';
import {
  AddressFamily,
  Attr,
  FINGERPRINT_XOR,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  messageType,
  reasonPhrase,
} from './constants.js';
import { crc32 } from './crc32.js';
import { writeIPv4, writeIPv6 } from './ip.js';

export interface BuildOptions {
  /** Appends MESSAGE-INTEGRITY (HMAC-SHA1) with this key. */
  readonly integrityKey?: Buffer;
  /** Appends MESSAGE-INTEGRITY-SHA256 (full 32 bytes) with this key, after MESSAGE-INTEGRITY if both. */
  readonly integritySha256Key?: Buffer;
  /** Appends FINGERPRINT last. */
  readonly fingerprint?: boolean;
}

const MAX_BODY = 0xffff & ~3;

export class StunMessageBuilder {
  private readonly types: number[] = [];
  private readonly values: Buffer[] = [];
  private readonly type: number;
  private readonly txid: Buffer;

  constructor(method: number, cls: number, transactionId: Buffer) {
    if (transactionId.length !== 12) {
      throw new RangeError(`transaction ID must be 12 bytes, got ${transactionId.length}`);
    }
    this.type = messageType(method, cls);
    this.txid = transactionId;
  }

  /** Adds a raw value (referenced, copied at build time); padded to 4 on the wire. */
  addBuffer(type: number, value: Buffer): this {
    if (value.length > 0xffff) throw new RangeError(`attribute 0x${type.toString(16)} value too long`);
    this.types.push(type);
    this.values.push(value);
    return this;
  }

  addString(type: number, value: string): this {
    return this.addBuffer(type, Buffer.from(value, 'utf8'));
  }

  addUint32(type: number, v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0, 0);
    return this.addBuffer(type, b);
  }

  addUint64(type: number, v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v), 0);
    return this.addBuffer(type, b);
  }

  /** An attribute with an empty value (DONT-FRAGMENT, USE-CANDIDATE). */
  addFlag(type: number): this {
    return this.addBuffer(type, Buffer.alloc(0));
  }

  /** XOR-MAPPED/PEER/RELAYED-ADDRESS. Throws on an address that does not match its family. */
  addXorAddress(type: number, addr: TransportAddress): this {
    return this.addBuffer(type, encodeAddress(addr, this.txid, true));
  }

  /** MAPPED-ADDRESS, ALTERNATE-SERVER (plain). */
  addAddress(type: number, addr: TransportAddress): this {
    return this.addBuffer(type, encodeAddress(addr, this.txid, false));
  }

  /** ERROR-CODE with the default reason phrase for the code unless one is given. */
  addErrorCode(code: number, reason?: string): this {
    if (!Number.isInteger(code) || code < 300 || code > 699)
      throw new RangeError(`bad STUN error code ${code}`);
    const text = Buffer.from(reason ?? reasonPhrase(code), 'utf8');
    const b = Buffer.alloc(4 + text.length);
    b[2] = Math.floor(code / 100);
    b[3] = code % 100;
    text.copy(b, 4);
    return this.addBuffer(Attr.ERROR_CODE, b);
  }

  addUnknownAttributes(types: number[]): this {
    const b = Buffer.allocUnsafe(types.length * 2);
    for (let i = 0; i < types.length; i++) b.writeUInt16BE(types[i]! & 0xffff, i * 2);
    return this.addBuffer(Attr.UNKNOWN_ATTRIBUTES, b);
  }

  addChannelNumber(channel: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(channel & 0xffff, 0);
    return this.addBuffer(Attr.CHANNEL_NUMBER, b);
  }

  /** REQUESTED-TRANSPORT: protocol number (17 = UDP) + 3 RFFU bytes. */
  addRequestedTransport(protocol: number): this {
    const b = Buffer.alloc(4);
    b[0] = protocol & 0xff;
    return this.addBuffer(Attr.REQUESTED_TRANSPORT, b);
  }

  /** REQUESTED-ADDRESS-FAMILY (default) or ADDITIONAL-ADDRESS-FAMILY. */
  addAddressFamily(family: 4 | 6, type: number = Attr.REQUESTED_ADDRESS_FAMILY): this {
    const b = Buffer.alloc(4);
    b[0] = family === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6;
    return this.addBuffer(type, b);
  }

  /** EVEN-PORT with the R (reserve next port) bit. */
  addEvenPort(reserve: boolean): this {
    return this.addBuffer(Attr.EVEN_PORT, Buffer.from([reserve ? 0x80 : 0]));
  }

  /** Serializes; appends MESSAGE-INTEGRITY (HMAC-SHA1 with key) and/or FINGERPRINT when asked. */
  build(opts: BuildOptions = {}): Buffer {
    let body = 0;
    for (const v of this.values) body += 4 + ((v.length + 3) & ~3);
    const sha1At = body;
    if (opts.integrityKey !== undefined) body += 24;
    const sha256At = body;
    if (opts.integritySha256Key !== undefined) body += 36;
    const fpAt = body;
    if (opts.fingerprint) body += 8;
    if (body > MAX_BODY) throw new RangeError(`STUN message body of ${body} bytes exceeds ${MAX_BODY}`);

    const out = Buffer.alloc(HEADER_LENGTH + body);
    out.writeUInt16BE(this.type, 0);
    out.writeUInt32BE(MAGIC_COOKIE, 4);
    this.txid.copy(out, 8);
    let pos = HEADER_LENGTH;
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i]!;
      out.writeUInt16BE(this.types[i]!, pos);
      out.writeUInt16BE(v.length, pos + 2);
      v.copy(out, pos + 4);
      pos += 4 + ((v.length + 3) & ~3);
    }
    if (opts.integrityKey !== undefined) {
      pos = appendIntegrity(out, pos, sha1At, 'sha1', Attr.MESSAGE_INTEGRITY, 20, opts.integrityKey);
    }
    if (opts.integritySha256Key !== undefined) {
      pos = appendIntegrity(
        out,
        pos,
        sha256At,
        'sha256',
        Attr.MESSAGE_INTEGRITY_SHA256,
        32,
        opts.integritySha256Key,
      );
    }
    out.writeUInt16BE(body, 2);
    if (opts.fingerprint) {
      const crc = (crc32(out, 0, HEADER_LENGTH + fpAt) ^ FINGERPRINT_XOR) >>> 0;
      out.writeUInt16BE(Attr.FINGERPRINT, pos);
      out.writeUInt16BE(4, pos + 2);
      out.writeUInt32BE(crc, pos + 4);
    }
    return out;
  }
}

/** Encodes an address value (family, port, address), XORed with cookie + transaction ID if asked. */
export function encodeAddress(addr: TransportAddress, transactionId: Buffer, xor: boolean): Buffer {
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) {
    throw new RangeError(`bad port ${addr.port}`);
  }
  const v6 = addr.family === 6;
  const b = Buffer.alloc(v6 ? 20 : 8);
  b[1] = v6 ? AddressFamily.IPV6 : AddressFamily.IPV4;
  b.writeUInt16BE(xor ? addr.port ^ (MAGIC_COOKIE >>> 16) : addr.port, 2);
  if (!(v6 ? writeIPv6(addr.address, b, 4) : writeIPv4(addr.address, b, 4))) {
    throw new RangeError(`'${addr.address}' is not an IPv${addr.family} address`);
  }
  if (xor) {
    b.writeUInt32BE((b.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0, 4);
    if (v6) for (let i = 0; i < 12; i++) b[8 + i] = b[8 + i]! ^ transactionId[i]!;
  }
  return b;
}

/** A fresh random 12-byte transaction ID. */
export function newTransactionId(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(12));
}

/**
 * Writes a MESSAGE-INTEGRITY(-SHA256) attribute at pos: the header length is first set to end
 * just after it (RFC 8489 sec 14.5/14.6), then the HMAC covers the message up to `at`.
 * Returns the position after the attribute.
 */
function appendIntegrity(
  out: Buffer,
  pos: number,
  at: number,
  algorithm: 'sha1' | 'sha256',
  type: number,
  macLength: number,
  key: Buffer,
): number {
  out.writeUInt16BE(at + 4 + macLength, 2);
  const mac = createHmac(algorithm, key)
    .update(out.subarray(0, HEADER_LENGTH + at))
    .digest();
  out.writeUInt16BE(type, pos);
  out.writeUInt16BE(macLength, pos + 2);
  mac.copy(out, pos + 4);
  return pos + 4 + macLength;
}
