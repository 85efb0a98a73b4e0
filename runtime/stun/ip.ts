/**
 * IP addresses, the one home for the runtime: text <-> wire bytes (the address attributes), and
 * numbers for lookups. IPv4 addresses become uint32 numbers, IPv6 addresses bigints (control path
 * only) or canonical strings (map keys). Peer keys combine address and port into one number for
 * IPv4 (ip * 65536 + port < 2^48), so that per-packet lookups never build strings. Literal syntax
 * (is this text an IP?) is the contract's (contract/ip-literal.ts).
 * IPv6 text is formatted as Node formats socket addresses (RFC 5952, IPv4-mapped as ::ffff:a.b.c.d)
 * so a decoded peer address compares equal to a dgram rinfo.address.
 */
import { SocketAddress } from 'node:net';

export { ipFamily } from '../../contract/ip-literal.js';

/** Writes the dotted quad into out[off..off+4); false if the text is not an IPv4 address. */
export function writeIPv4(text: string, out: Buffer | Uint8Array, off: number): boolean {
  let octet = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || idx > 3) return false;
      out[off + idx++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return false; // no leading zeros
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return false;
    } else {
      return false;
    }
  }
  return idx === 4;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Writes the IPv6 address into out[off..off+16); a %zone suffix is ignored. False if invalid. */
export function writeIPv6(text: string, out: Buffer | Uint8Array, off: number): boolean {
  const pct = text.indexOf('%');
  const s = pct >= 0 ? text.slice(0, pct) : text;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (s.length === 2) {
      for (let k = 0; k < 16; k++) out[off + k] = 0;
      return true;
    }
  } else if (s.startsWith(':')) {
    return false;
  }
  while (i < s.length) {
    // An embedded IPv4 tail: the rest contains a dot.
    const nextColon = s.indexOf(':', i);
    const part = nextColon < 0 ? s.slice(i) : s.slice(i, nextColon);
    if (part.indexOf('.') >= 0) {
      if (nextColon >= 0 || groups.length > 6) return false;
      const v4 = new Uint8Array(4);
      if (!writeIPv4(part, v4, 0)) return false;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      i = s.length;
      break;
    }
    if (part.length === 0 || part.length > 4) return false;
    let v = 0;
    for (let k = 0; k < part.length; k++) {
      const h = hexVal(part.charCodeAt(k));
      if (h < 0) return false;
      v = (v << 4) | h;
    }
    groups.push(v);
    if (groups.length > 8) return false;
    if (nextColon < 0) {
      i = s.length;
      break;
    }
    i = nextColon + 1;
    if (s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false; // a second '::'
      gap = groups.length;
      i++;
      if (i === s.length) break;
    } else if (i === s.length) {
      return false; // trailing single ':'
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const fill = 8 - groups.length;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (gap >= 0 && k >= gap && k < gap + fill) v = 0;
    else v = groups[g++]!;
    out[off + 2 * k] = v >> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

export function formatIPv4(b: Buffer | Uint8Array, off: number): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
}

/** RFC 5952 text: lowercase, longest run (>= 2) of zero groups as '::', IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(b: Buffer | Uint8Array, off: number): string {
  const g: number[] = new Array(8);
  for (let k = 0; k < 8; k++) g[k] = (b[off + 2 * k]! << 8) | b[off + 2 * k + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + formatIPv4(b, off + 12);
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let j = k;
    while (j < 8 && g[j] === 0) j++;
    if (j - k > bestLen && j - k >= 2) {
      bestStart = k;
      bestLen = j - k;
    }
    k = j;
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out += k === 0 ? '::' : ':';
      k += bestLen - 1;
      continue;
    }
    out += g[k]!.toString(16);
    if (k < 7) out += ':';
  }
  return out;
}

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
