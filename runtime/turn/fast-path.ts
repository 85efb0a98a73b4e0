/**
 * Client-to-peer hot path helpers: ChannelData and Send indications, parsed in place without
 * allocating (no StunMessage, no attribute list, no strings for IPv4 peers).
 */
import { Attr, MAGIC_COOKIE } from '../stun/constants.js';
import type { Allocation } from './allocation.js';

export { SEND_INDICATION } from '../stun/constants.js';

// The codec's numbers, read once into module constants for the per-attribute loop below.
const { XOR_PEER_ADDRESS, DATA, DONT_FRAGMENT, FINGERPRINT } = Attr;

/** ChannelData from a client: buf[start..end) holds one frame. */
export function relayChannelData(a: Allocation, buf: Buffer, start: number, end: number): void {
  if (end - start < 4) return;
  const ch = a.channels.get((buf[start]! << 8) | buf[start + 1]!);
  if (ch === undefined) return;
  const len = (buf[start + 2]! << 8) | buf[start + 3]!;
  if (start + 4 + len > end) return;
  a.sendChannel(ch, buf, start + 4, len);
}

/**
 * A Send indication from a client, IPv4 peers only. Returns false when the message needs the full
 * parser (IPv6 peer, other attributes); silently drops malformed ones (returns true).
 */
export function relaySendIndication(a: Allocation, buf: Buffer, start: number, end: number): boolean {
  if (end - start < 20 || buf.readUInt32BE(start + 4) !== MAGIC_COOKIE) return true;
  const bodyLen = (buf[start + 2]! << 8) | buf[start + 3]!;
  if (start + 20 + bodyLen !== end || (bodyLen & 3) !== 0) return true;
  let pos = start + 20;
  let peer = -1;
  let data = -1;
  let dataLen = 0;
  while (pos + 4 <= end) {
    const t = (buf[pos]! << 8) | buf[pos + 1]!;
    const l = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    const v = pos + 4;
    if (v + l > end) return true;
    if (t === XOR_PEER_ADDRESS) {
      if (peer < 0) {
        if (l !== 8 || buf[v + 1] !== 1) return false;
        peer = v;
      }
    } else if (t === DATA) {
      if (data < 0) {
        data = v;
        dataLen = l;
      }
    } else if (t !== DONT_FRAGMENT && t !== FINGERPRINT) {
      return false;
    }
    pos = v + ((l + 3) & ~3);
  }
  if (peer < 0 || data < 0) return true;
  const ip = (buf.readUInt32BE(peer + 4) ^ MAGIC_COOKIE) >>> 0;
  const perm = a.permissions.get(ip);
  if (perm === undefined) return true;
  const port = ((buf[peer + 2]! << 8) | buf[peer + 3]!) ^ (MAGIC_COOKIE >>> 16);
  a.sendTo(perm, port, buf, data, dataLen);
  return true;
}
