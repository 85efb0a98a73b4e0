/**
 * A deliberately independent, minimal STUN/TURN encoder and decoder for the load generator.
 * The benchmark does not reuse runtime/stun: a second implementation cross-checks the runtime's
 * wire format instead of sharing its bugs, and it keeps the generator's hot path tiny.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export const MAGIC = 0x2112a442;

export const Method = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;

export const Cls = { REQUEST: 0x000, INDICATION: 0x010, SUCCESS: 0x100, ERROR: 0x110 } as const;

export const Attr = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
} as const;

export type AttrList = ReadonlyArray<readonly [number, Buffer]>;

export interface Addr {
  readonly address: string;
  readonly port: number;
}

/** Methods below 0x10 keep their bits in place, so the type is just method | class. */
export function msgType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | cls;
}

export function newTxid(): Buffer {
  return randomBytes(12);
}

export function longTermKey(user: string, realm: string, pass: string): Buffer {
  return createHash('md5').update(`${user}:${realm}:${pass}`).digest();
}

/** Encodes a STUN message; with a key, appends MESSAGE-INTEGRITY (HMAC-SHA1) as the last attribute. */
export function encode(method: number, cls: number, txid: Buffer, attrs: AttrList, key?: Buffer): Buffer {
  let len = 0;
  for (const [, v] of attrs) len += 4 + ((v.length + 3) & ~3);
  const body = len + (key ? 24 : 0);
  const buf = Buffer.alloc(20 + body);
  buf.writeUInt16BE(msgType(method, cls), 0);
  buf.writeUInt16BE(body, 2);
  buf.writeUInt32BE(MAGIC, 4);
  txid.copy(buf, 8);
  let off = 20;
  for (const [t, v] of attrs) {
    buf.writeUInt16BE(t, off);
    buf.writeUInt16BE(v.length, off + 2);
    v.copy(buf, off + 4);
    off += 4 + ((v.length + 3) & ~3);
  }
  if (key) {
    const mac = createHmac('sha1', key).update(buf.subarray(0, off)).digest();
    buf.writeUInt16BE(Attr.MESSAGE_INTEGRITY, off);
    buf.writeUInt16BE(20, off + 2);
    mac.copy(buf, off + 4);
  }
  return buf;
}

/** XOR-MAPPED style address value, IPv4 only (the benchmark runs on 127.0.0.1). */
export function xorAddr(a: Addr): Buffer {
  const v = Buffer.alloc(8);
  v[1] = 0x01;
  v.writeUInt16BE(a.port ^ (MAGIC >>> 16), 2);
  const p = a.address.split('.').map(Number);
  v.writeUInt32BE((((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) ^ MAGIC) >>> 0, 4);
  return v;
}

export function decodeXorAddr(v: Buffer): Addr | undefined {
  if (v.length < 8 || v[1] !== 0x01) return undefined;
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = (v.readUInt32BE(4) ^ MAGIC) >>> 0;
  return { address: `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`, port };
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

export interface Decoded {
  readonly method: number;
  readonly cls: number;
  readonly txid: Buffer;
  readonly attrs: Map<number, Buffer>;
}

/** Decodes a STUN message (first occurrence of each attribute wins), or undefined if it is not STUN. */
export function decode(buf: Buffer): Decoded | undefined {
  if (buf.length < 20 || (buf[0]! & 0xc0) !== 0 || buf.readUInt32BE(4) !== MAGIC) return undefined;
  const type = buf.readUInt16BE(0);
  const len = buf.readUInt16BE(2);
  if (20 + len > buf.length) return undefined;
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = type & 0x0110;
  const attrs = new Map<number, Buffer>();
  let off = 20;
  while (off + 4 <= 20 + len) {
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    if (off + 4 + l > 20 + len) return undefined;
    if (!attrs.has(t)) attrs.set(t, buf.subarray(off + 4, off + 4 + l));
    off += 4 + ((l + 3) & ~3);
  }
  return { method, cls, txid: buf.subarray(8, 20), attrs };
}

export function errorCode(d: Decoded): number | undefined {
  const v = d.attrs.get(Attr.ERROR_CODE);
  if (!v || v.length < 4) return undefined;
  return (v[2]! & 7) * 100 + v[3]!;
}
