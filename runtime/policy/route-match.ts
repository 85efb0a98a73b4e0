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
  /** The gateway's listener ports: closed on its own addresses unless a route names them. */
  readonly ownPorts: ReadonlySet<number>;
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

export const EMPTY_ROUTE_TABLE: RouteTable = {
  routes: new Map(),
  ownV4: new Set(),
  ownV6: new Set(),
  ownPorts: new Set(),
  wildcardListener: false,
};

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
    };
  }
  return undefined;
}

/** Is this peer IP (text) admitted for clients of this listener, and on which ports? */
export function matchPeer<C extends RoutedCluster>(
  table: RouteTable<C>,
  listener: string,
  ip: string,
): CheckResult<C> {
  const fam = ipFamily(ip);
  if (fam === 0) return 'invalid address';
  let v4 = 0;
  let v6 = 0n;
  if (fam === 4) {
    v4 = ipv4ToInt(ip);
    if (isForbiddenV4(v4)) return 'forbidden address';
  } else {
    v6 = ipv6ToBigInt(ip);
    if (isForbiddenV6(v6)) return 'forbidden address';
  }
  const clusters = table.routes.get(listener);
  if (!clusters) return 'no route to endpoint';
  let first: C | undefined;
  let ranges: number[] | null = [];
  for (const st of clusters) {
    const matched = matchRules(st.staticRules, fam, v4, v6, ranges);
    const m2 = matchRules(st.dnsRules, fam, v4, v6, ranges);
    const m3 = matchRules(st.dynamicRules, fam, v4, v6, ranges);
    if (matched || m2 || m3) {
      first ??= st;
    }
  }
  if (!first) return 'no route to endpoint';
  const ownIp = fam === 4 ? isOwnV4(table, v4) : table.ownV6.has(v6) || v6 === 1n;
  let blockedPorts: number[] | null = null;
  if (ownIp) {
    // Listener ports on our own address open only for a route that names them in a port range.
    blockedPorts = [];
    for (const p of table.ownPorts) {
      let explicit = false;
      for (let i = 0; i < ranges.length; i += 2) {
        if (p >= ranges[i]! && p <= ranges[i + 1]! && !(ranges[i] === 0 && ranges[i + 1] === 65535)) {
          explicit = true;
          break;
        }
      }
      if (!explicit) blockedPorts.push(p);
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

/** Appends the port ranges of every matching rule; returns whether any matched. */
function matchRules(rules: readonly Rule[], fam: 4 | 6, v4: number, v6: bigint, out: number[]): boolean {
  let any = false;
  for (const r of rules) {
    if (r.family !== fam) continue;
    const hit = fam === 4 ? (v4 & r.v4mask) >>> 0 === r.v4base : (v6 & r.v6mask) === r.v6base;
    if (hit) {
      any = true;
      out.push(r.portMin, r.portMax);
    }
  }
  return any;
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
