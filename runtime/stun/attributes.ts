/**
 * Typed readers for STUN/TURN attribute values. Each returns undefined for a malformed value,
 * so the caller can answer 400 instead of throwing.
 */
import { AddressFamily, MAGIC_COOKIE } from './constants.js';
import { formatIPv4, formatIPv6 } from './ip.js';
import type { StunAttribute, StunMessage } from './message.js';

export interface TransportAddress {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/** Longest USERNAME/REALM/NONCE/SOFTWARE value the RFCs allow (763 bytes). */
export const MAX_STRING_BYTES = 763;

function readAddress(msg: StunMessage, attr: StunAttribute, xor: boolean): TransportAddress | undefined {
  const b = msg.buf;
  const o = attr.offset;
  if (attr.length < 4) return undefined;
  const fam = b[o + 1];
  let port = b.readUInt16BE(o + 2);
  if (xor) port ^= MAGIC_COOKIE >>> 16;
  if (fam === AddressFamily.IPV4) {
    if (attr.length !== 8) return undefined;
    if (!xor) return { family: 4, address: formatIPv4(b, o + 4), port };
    const x = (b.readUInt32BE(o + 4) ^ MAGIC_COOKIE) >>> 0;
    return {
      family: 4,
      address: (x >>> 24) + '.' + ((x >>> 16) & 0xff) + '.' + ((x >>> 8) & 0xff) + '.' + (x & 0xff),
      port,
    };
  }
  if (fam === AddressFamily.IPV6) {
    if (attr.length !== 20) return undefined;
    if (!xor) return { family: 6, address: formatIPv6(b, o + 4), port };
    // XOR with magic cookie + transaction ID, which are the 16 header bytes at start+4.
    const tmp = new Uint8Array(16);
    const k = msg.start + 4;
    for (let i = 0; i < 16; i++) tmp[i] = b[o + 4 + i]! ^ b[k + i]!;
    return { family: 6, address: formatIPv6(tmp, 0), port };
  }
  return undefined;
}

/** XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS. */
export function decodeXorAddress(msg: StunMessage, attr: StunAttribute): TransportAddress | undefined {
  return readAddress(msg, attr, true);
}

/** MAPPED-ADDRESS, ALTERNATE-SERVER (plain, not XORed). */
export function decodeAddress(msg: StunMessage, attr: StunAttribute): TransportAddress | undefined {
  return readAddress(msg, attr, false);
}

/** ERROR-CODE: class 3..6 and number 0..99 (RFC 8489 sec 14.8). */
export function decodeErrorCode(
  msg: StunMessage,
  attr: StunAttribute,
): { code: number; reason: string } | undefined {
  if (attr.length < 4 || attr.length > 4 + MAX_STRING_BYTES) return undefined;
  const b = msg.buf;
  const cls = b[attr.offset + 2]! & 0x07;
  const num = b[attr.offset + 3]!;
  if (cls < 3 || cls > 6 || num > 99) return undefined;
  return { code: cls * 100 + num, reason: b.toString('utf8', attr.offset + 4, attr.offset + attr.length) };
}

/** A 4-byte unsigned value (LIFETIME, PRIORITY, ...). */
export function readUint32(msg: StunMessage, attr: StunAttribute): number | undefined {
  if (attr.length !== 4) return undefined;
  return msg.buf.readUInt32BE(attr.offset);
}

/** An 8-byte value (RESERVATION-TOKEN, ICE-CONTROLLED, ICE-CONTROLLING). */
export function readUint64(msg: StunMessage, attr: StunAttribute): bigint | undefined {
  if (attr.length !== 8) return undefined;
  return msg.buf.readBigUInt64BE(attr.offset);
}

/** USERNAME, REALM, NONCE, SOFTWARE as UTF-8; undefined past MAX_STRING_BYTES. */
export function decodeString(msg: StunMessage, attr: StunAttribute): string | undefined {
  if (attr.length > MAX_STRING_BYTES) return undefined;
  return msg.buf.toString('utf8', attr.offset, attr.offset + attr.length);
}

/** CHANNEL-NUMBER: 2-byte number + 2 RFFU bytes. Range checking is the caller's (0x4000-0x4FFF). */
export function decodeChannelNumber(msg: StunMessage, attr: StunAttribute): number | undefined {
  if (attr.length !== 4) return undefined;
  return msg.buf.readUInt16BE(attr.offset);
}

/** REQUESTED-TRANSPORT: the IANA protocol number (17 = UDP). */
export function decodeRequestedTransport(msg: StunMessage, attr: StunAttribute): number | undefined {
  if (attr.length !== 4) return undefined;
  return msg.buf[attr.offset];
}

/** REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: 4 or 6; undefined for other values. */
export function decodeAddressFamily(msg: StunMessage, attr: StunAttribute): 4 | 6 | undefined {
  if (attr.length !== 4) return undefined;
  const f = msg.buf[attr.offset];
  return f === AddressFamily.IPV4 ? 4 : f === AddressFamily.IPV6 ? 6 : undefined;
}

/** EVEN-PORT: true when the R bit (reserve the next port too) is set. The value is 1 byte; some
 *  clients send it as 4, so any non-empty length up to 4 is read. */
export function decodeEvenPort(msg: StunMessage, attr: StunAttribute): boolean | undefined {
  if (attr.length < 1 || attr.length > 4) return undefined;
  return (msg.buf[attr.offset]! & 0x80) !== 0;
}

/** UNKNOWN-ATTRIBUTES: a list of 16-bit types. */
export function decodeUnknownAttributes(msg: StunMessage, attr: StunAttribute): number[] | undefined {
  if ((attr.length & 1) !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < attr.length; i += 2) out.push(msg.buf.readUInt16BE(attr.offset + i));
  return out;
}

/** Subarray view of any attribute value (DATA, USERHASH, ...). */
export function attributeValue(msg: StunMessage, attr: StunAttribute): Buffer {
  return msg.buf.subarray(attr.offset, attr.offset + attr.length);
}
