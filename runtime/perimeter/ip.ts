/**
 * Numeric IP helpers. IPv4 addresses become uint32 numbers, IPv6 addresses bigints (control path
 * only) or canonical strings (map keys). Peer keys combine address and port into one number for
 * IPv4 (ip * 65536 + port < 2^48), so that per-packet lookups never build strings.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/** Parses dotted-quad IPv4 into a uint32; -1 when it is not one. Cheap enough for every packet. */
export function ipv4ToInt(s: string): number {
  let out = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      out = out * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return out * 256 + part;
}

export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Canonical (RFC 5952) text of an IPv6 address, matching what the kernel reports in rinfo. */
export function canonicalIpv6(s: string): string {
  return new SocketAddress({ address: s, family: 'ipv6' }).address;
}

export function ipv6ToBigInt(s: string): bigint {
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v4 = ipv4ToInt(maybeV4);
    if (v4 < 0) throw new Error(`bad IPv6 address ${s}`);
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    text = `${text.slice(0, lastColon + 1)}0`;
    if (text.endsWith('::0')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':').map((x) => Number.parseInt(x, 16));
  const r = rest === undefined ? [] : rest === '' ? [] : rest.split(':').map((x) => Number.parseInt(x, 16));
  if (tail.length > 0) {
    // The placeholder "0" stands for the two IPv4 groups.
    if (r.length > 0) r.pop();
    else h.pop();
  }
  const groupsNeeded = 8 - tail.length;
  const fill = rest === undefined ? 0 : groupsNeeded - h.length - r.length;
  const groups = [...h, ...new Array<number>(Math.max(0, fill)).fill(0), ...r, ...tail];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g & 0xffff);
  return v;
}

export function ipFamily(s: string): 0 | 4 | 6 {
  if (isIPv4(s)) return 4;
  if (isIPv6(s)) return 6;
  return 0;
}

/** A map key for an IP: the uint32 for IPv4, the canonical string for IPv6. */
export function ipKey(s: string): number | string {
  const v4 = ipv4ToInt(s);
  return v4 >= 0 ? v4 : canonicalIpv6(s);
}

/** An IPv4 prefix as base and mask, both uint32. */
export function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function v6Mask(prefix: number): bigint {
  return prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
}

/** 0.0.0.0/8, multicast 224.0.0.0/4 and limited broadcast: never relay targets. */
export function isForbiddenV4(ip: number): boolean {
  return ip >>> 24 === 0 || ip >>> 28 === 14 || ip === 0xffffffff;
}

/** Unspecified :: and multicast ff00::/8 (and their IPv4-mapped forms). */
export function isForbiddenV6(ip: bigint): boolean {
  if (ip === 0n) return true;
  if (ip >> 120n === 0xffn) return true;
  if (ip >> 32n === 0xffffn) return isForbiddenV4(Number(ip & 0xffffffffn));
  return false;
}
