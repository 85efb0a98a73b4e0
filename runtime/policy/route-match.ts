/**
 * Route matching, pure: given the resolved endpoint sets of each listener's routes and the
 * gateway's own addresses and ports, decide whether a peer (IP, and port) may be reached. No DNS,
 * no timers, no interfaces: the resolver (perimeter.ts) builds the RouteTable and keeps it current.
 * Matching is numeric (uint32 prefixes for IPv4, bigints for IPv6) and happens at
 * CreatePermission/ChannelBind time; the result (allowed port ranges, blocked own ports) is stored
 * on the permission and checked per datagram with portAllowed().
 */
import { ANY_PORT_MAX, ANY_PORT_MIN } from '../../contract/config/index.js';
import { ipFamily, ipv4ToInt, ipv6ToBigInt, v4Mask, v6Mask } from '../stun/ip.js';
import { portAllowed } from '../turn/allocation.js';
import type { Admission as TurnAdmission } from '../turn/hooks.js';
import type { ClusterStats } from '../turn/stats.js';

/** One endpoint as a prefix and a port range. */
export interface Rule {
  readonly family: 4 | 6;
  readonly v4base: number;
  readonly v4mask: number;
  readonly v6base: bigint;
  readonly v6mask: bigint;
  readonly portMin: number;
  readonly portMax: number;
  /** Prefix length: a peer in a dangerous class is admitted only by a rule at least as narrow as the class. */
  readonly prefix: number;
}

/** A cluster as the matcher sees it: its configured, resolved and dynamic endpoint rules. */
export interface RoutedCluster {
  readonly name: string;
  readonly stats: ClusterStats;
  readonly staticRules: readonly Rule[];
  readonly dnsRules: readonly Rule[];
  readonly dynamicRules: readonly Rule[];
}

/** Everything a decision depends on. */
export interface RouteTable<C extends RoutedCluster = RoutedCluster> {
  /** Listener name -> the clusters its routes name. */
  readonly routes: ReadonlyMap<string, readonly C[]>;
  /** The gateway's own addresses. */
  readonly ownV4: ReadonlySet<number>;
  readonly ownV6: ReadonlySet<bigint>;
  /** The gateway's listener ports: always closed on its own addresses, whatever the routes say. */
  readonly ownPorts: ReadonlySet<number>;
  /** Its health and metrics ports: closed on its own addresses unless a route names them in a port range. */
  readonly adminPorts: ReadonlySet<number>;
  /** A listener binds a wildcard address: all of 127.0.0.0/8 is the gateway's own. */
  readonly wildcardListener: boolean;
}

/** Outcome of a permission check: turn/'s Admission, with the cluster and whether the peer is us. */
export interface Admission<C extends RoutedCluster = RoutedCluster> extends TurnAdmission {
  readonly cluster: C;
  /** The peer is one of the gateway's own addresses: its listener ports stay closed. */
  readonly ownIp: boolean;
}

export type DenyReason = 'no route to endpoint' | 'forbidden address' | 'invalid address';
export type CheckResult<C extends RoutedCluster = RoutedCluster> = Admission<C> | DenyReason;

/** A table that admits nothing (before the first config). */
export function emptyRouteTable<C extends RoutedCluster>(): RouteTable<C> {
  return {
    routes: new Map(),
    ownV4: new Set(),
    ownV6: new Set(),
    ownPorts: new Set(),
    adminPorts: new Set(),
    wildcardListener: false,
  };
}

/** The rule for an IP (prefix) endpoint with a port range; undefined when `ip` is no IP literal. */
export function ruleFor(
  ip: string,
  prefix: number | undefined,
  portMin: number,
  portMax: number,
): Rule | undefined {
  const fam = ipFamily(ip);
  if (fam === 4) {
    const mask = v4Mask(prefix ?? 32);
    return {
      family: 4,
      v4base: (ipv4ToInt(ip) & mask) >>> 0,
      v4mask: mask,
      v6base: 0n,
      v6mask: 0n,
      portMin,
      portMax,
      prefix: prefix ?? 32,
    };
  }
  if (fam === 6) {
    const mask = v6Mask(prefix ?? 128);
    return {
      family: 6,
      v4base: 0,
      v4mask: 0,
      v6base: ipv6ToBigInt(ip) & mask,
      v6mask: mask,
      portMin,
      portMax,
      prefix: prefix ?? 128,
    };
  }
  return undefined;
}

/**
 * Is this peer IP (text) admitted for clients of this listener, and on which ports?
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) peers are judged as the IPv4
 * address they carry. Unspecified, multicast and broadcast peers are never admitted. Loopback,
 * link-local (cloud metadata included) and their IPv6, 6to4 and NAT64 forms are dangerous: only a
 * rule at least as narrow as their class admits them, never an allow-any route. On the gateway's
 * own addresses its listener ports are always closed, its health and metrics ports unless a route
 * names them.
 */
export function matchPeer<C extends RoutedCluster>(
  table: RouteTable<C>,
  listener: string,
  ip: string,
): CheckResult<C> {
  let fam = ipFamily(ip);
  if (fam === 0) return 'invalid address';
  let v4 = 0;
  let v6 = 0n;
  if (fam === 4) {
    v4 = ipv4ToInt(ip);
  } else {
    v6 = ipv6ToBigInt(ip);
    const embedded = mappedV4(v6);
    if (embedded >= 0) {
      fam = 4;
      v4 = embedded;
    }
  }
  if (fam === 4 ? isForbiddenV4(v4) : isForbiddenV6(v6)) return 'forbidden address';
  const clusters = table.routes.get(listener);
  if (!clusters) return 'no route to endpoint';
  // A dangerous peer counts only rules at least as narrow as its class.
  const minPrefix = fam === 4 ? v4DangerPrefix(v4) : v6DangerPrefix(v6);
  let first: C | undefined;
  let ranges: number[] | null = [];
  for (const st of clusters) {
    const matched = matchRules(st.staticRules, fam, v4, v6, minPrefix, ranges);
    const m2 = matchRules(st.dnsRules, fam, v4, v6, minPrefix, ranges);
    const m3 = matchRules(st.dynamicRules, fam, v4, v6, minPrefix, ranges);
    if (matched || m2 || m3) {
      first ??= st;
    }
  }
  if (!first) return 'no route to endpoint';
  const ownIp = fam === 4 ? isOwnV4(table, v4) : table.ownV6.has(v6) || v6 === 1n;
  let blockedPorts: number[] | null = null;
  if (ownIp) {
    // Listener ports on our own address never open; admin ports only for a route that names them.
    blockedPorts = [...table.ownPorts];
    for (const p of table.adminPorts) {
      let explicit = false;
      for (let i = 0; i < ranges.length; i += 2) {
        if (p >= ranges[i]! && p <= ranges[i + 1]! && !(ranges[i] === 0 && ranges[i + 1] === 65535)) {
          explicit = true;
          break;
        }
      }
      if (!explicit && !table.ownPorts.has(p)) blockedPorts.push(p);
    }
    if (blockedPorts.length === 0) blockedPorts = null;
  }
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i] === ANY_PORT_MIN && ranges[i + 1] === ANY_PORT_MAX) {
      ranges = null;
      break;
    }
  }
  return { cluster: first, ranges, ownIp, blockedPorts };
}

/** The whole decision for one peer transport address: admitted, or why not. */
export function decidePeer<C extends RoutedCluster>(
  table: RouteTable<C>,
  listener: string,
  ip: string,
  port: number,
): CheckResult<C> | 'no route to endpoint port' {
  const r = matchPeer(table, listener, ip);
  if (typeof r === 'string') return r;
  return portAllowed(r.ranges, r.blockedPorts, port) ? r : 'no route to endpoint port';
}

function isOwnV4(table: RouteTable, v4: number): boolean {
  if (table.ownV4.has(v4)) return true;
  return table.wildcardListener && v4 >>> 24 === 127;
}

/** Appends the port ranges of every matching rule at least `minPrefix` long; returns whether any matched. */
function matchRules(
  rules: readonly Rule[],
  fam: 4 | 6,
  v4: number,
  v6: bigint,
  minPrefix: number,
  out: number[],
): boolean {
  let any = false;
  for (const r of rules) {
    if (r.family !== fam || r.prefix < minPrefix) continue;
    const hit = fam === 4 ? (v4 & r.v4mask) >>> 0 === r.v4base : (v6 & r.v6mask) === r.v6base;
    if (hit) {
      any = true;
      out.push(r.portMin, r.portMax);
    }
  }
  return any;
}

/**
 * The IPv4 address an IPv4-mapped (::ffff:0:0/96) or IPv4-compatible (::/96 but :: and ::1)
 * IPv6 address carries, as a uint32; -1 for any other address.
 */
export function mappedV4(v6: bigint): number {
  const high = v6 >> 32n;
  if (high === 0xffffn || (high === 0n && v6 > 1n)) return Number(v6 & 0xffffffffn);
  return -1;
}

/** 0.0.0.0/8, multicast 224.0.0.0/4 and limited broadcast: never relay targets. */
export function isForbiddenV4(ip: number): boolean {
  return ip >>> 24 === 0 || ip >>> 28 === 14 || ip === 0xffffffff;
}

/** Unspecified :: and multicast ff00::/8 (mapped forms are judged as IPv4 before this). */
export function isForbiddenV6(ip: bigint): boolean {
  return ip === 0n || ip >> 120n === 0xffn;
}

/**
 * The prefix length of the dangerous class an IPv4 address is in (loopback 127.0.0.0/8: 8,
 * link-local 169.254.0.0/16 with the cloud metadata address: 16, the forbidden ones: theirs), or
 * 0 when it is in none.
 */
export function v4DangerPrefix(ip: number): number {
  if (ip >>> 24 === 127 || ip >>> 24 === 0) return 8;
  if (ip >>> 16 === 0xa9fe) return 16;
  if (ip >>> 28 === 14) return 4;
  if (ip === 0xffffffff) return 32;
  return 0;
}

const FD00_EC2_254 = (0xfd00_0ec2n << 96n) | 0x254n;

/**
 * The same for IPv6: loopback ::1 and the AWS metadata address fd00:ec2::254 (128), link-local
 * fe80::/10 (10), and the 6to4 (2002::/16) and NAT64 (64:ff9b::/96) forms of a dangerous IPv4
 * address (their prefix plus the IPv4 class's).
 */
export function v6DangerPrefix(ip: bigint): number {
  if (ip === 1n || ip === FD00_EC2_254) return 128;
  if (ip >> 118n === 0x3fan) return 10;
  if (ip >> 112n === 0x2002n) {
    const p = v4DangerPrefix(Number((ip >> 80n) & 0xffffffffn));
    return p > 0 ? 16 + p : 0;
  }
  if (ip >> 32n === 0x0064_ff9b_0000_0000_0000_0000n) {
    const p = v4DangerPrefix(Number(ip & 0xffffffffn));
    return p > 0 ? 96 + p : 0;
  }
  return 0;
}
