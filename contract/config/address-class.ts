/**
 * The dangerous address classes of the route perimeter, for synth-time checks: which class an
 * endpoint CIDR falls inside. The runtime decides the same numerically on its own
 * (runtime/policy/route-match.ts): loopback and link-local (cloud metadata included), and their
 * IPv4-mapped, IPv4-compatible, 6to4 and NAT64 forms, are relayed to only when a route names them
 * with a prefix at least as narrow as their class, never by allow-any; unspecified, multicast and
 * broadcast addresses are never relayed to, whatever the routes say.
 */
import { ipFamily as isIP } from '../ip-literal.js';

export type AddressClass = 'loopback' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'broadcast';

/** Classes the gateway never relays to, even when a route names them. */
export const NEVER_RELAYED: ReadonlySet<AddressClass> = new Set(['unspecified', 'multicast', 'broadcast']);

interface Cls {
  readonly base: bigint;
  readonly prefix: number;
  readonly cls: AddressClass;
}

const V4: readonly Cls[] = [
  { base: 0xa9fea9fen, prefix: 32, cls: 'metadata' },
  { base: 0x7f000000n, prefix: 8, cls: 'loopback' },
  { base: 0xa9fe0000n, prefix: 16, cls: 'link-local' },
  { base: 0n, prefix: 8, cls: 'unspecified' },
  { base: 0xe0000000n, prefix: 4, cls: 'multicast' },
  { base: 0xffffffffn, prefix: 32, cls: 'broadcast' },
];
const V6: readonly Cls[] = [
  { base: 1n, prefix: 128, cls: 'loopback' },
  { base: 0n, prefix: 128, cls: 'unspecified' },
  { base: (0xfd000ec2n << 96n) | 0x254n, prefix: 128, cls: 'metadata' },
  { base: 0xfe80n << 112n, prefix: 10, cls: 'link-local' },
  { base: 0xffn << 120n, prefix: 8, cls: 'multicast' },
];

function v6ToBigInt(ip: string): bigint {
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = v4[1]!.split('.').map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  let out = 0n;
  for (const g of groups) out = (out << 16n) | BigInt(Number.parseInt(g || '0', 16));
  return out;
}

function v4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
}

function inside(base: bigint, prefix: number, bits: number, c: Cls): boolean {
  if (prefix < c.prefix) return false;
  const shift = BigInt(bits - c.prefix);
  return base >> shift === c.base >> shift;
}

function classOf4(base: bigint, prefix: number): AddressClass | undefined {
  return V4.find((c) => inside(base, prefix, 32, c))?.cls;
}

/**
 * The dangerous class an IP or CIDR lies entirely inside (mapped, compatible, 6to4 and NAT64
 * forms judged by the IPv4 address they carry), or undefined. A wider prefix that merely
 * overlaps a class (0.0.0.0/0, 126.0.0.0/7) is in none: the runtime does not open a class for it.
 */
export function addressClassOf(cidr: string): AddressClass | undefined {
  const [addr = '', len] = cidr.split('/');
  const family = isIP(addr);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = len === undefined ? bits : Number(len);
  if (family === 4) return classOf4(v4ToBigInt(addr), prefix);
  const v = v6ToBigInt(addr);
  const high = v >> 32n;
  // IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96 (but :: and ::1).
  if (prefix >= 96 && (high === 0xffffn || (high === 0n && v > 1n)))
    return classOf4(v & 0xffffffffn, prefix - 96);
  if (prefix >= 16 && v >> 112n === 0x2002n) return classOf4((v >> 80n) & 0xffffffffn, prefix - 16);
  if (prefix >= 96 && v >> 32n === 0x0064_ff9b_0000_0000_0000_0000n)
    return classOf4(v & 0xffffffffn, prefix - 96);
  return V6.find((c) => inside(v, prefix, 128, c))?.cls;
}
