/**
 * The pure route matcher (runtime/policy/route-match.ts), directly: a route table built by hand
 * (no config, no DNS, no timers) and a table of peers, each with the verdict it must get.
 */
import { describe, expect, it } from 'vitest';
import {
  decidePeer,
  matchPeer,
  type RoutedCluster,
  type RouteTable,
  type Rule,
  ruleFor,
} from '../../../runtime/policy/route-match.js';
import { intToIpv4, ipv4ToInt, ipv6ToBigInt } from '../../../runtime/stun/ip.js';
import { ClusterStats } from '../../../runtime/turn/stats.js';

function rule(ip: string, prefix?: number, lo = 0, hi = 65535): Rule {
  const r = ruleFor(ip, prefix, lo, hi);
  if (!r) throw new Error(`no rule for ${ip}`);
  return r;
}

function cluster(name: string, rules: { static?: Rule[]; dns?: Rule[]; dynamic?: Rule[] }): RoutedCluster {
  return {
    name,
    stats: new ClusterStats(),
    staticRules: rules.static ?? [],
    dnsRules: rules.dns ?? [],
    dynamicRules: rules.dynamic ?? [],
  };
}

const media = cluster('media', {
  static: [rule('10.1.0.0', 16, 5000, 5010), rule('2001:db8::', 32)],
  dns: [rule('10.7.0.1', undefined, 9000, 9100)],
  dynamic: [rule('10.9.9.9')],
});
const self = cluster('self', {
  static: [rule('10.0.0.1'), rule('10.0.0.1', 32, 3478, 3478), rule('10.0.0.1', 32, 8086, 8086)],
});
const anyV4 = cluster('any', { static: [rule('0.0.0.0', 0), rule('::', 0)] });

const table: RouteTable = {
  routes: new Map([
    ['l1', [media, self]],
    ['l2', []],
    ['any', [anyV4]],
  ]),
  ownV4: new Set([ipv4ToInt('10.0.0.1')]),
  ownV6: new Set([ipv6ToBigInt('fd00::1')]),
  ownPorts: new Set([3478, 3479]),
  adminPorts: new Set([8086, 8080]),
  wildcardListener: false,
};

type Verdict = 'admit' | string;
const rows: [listener: string, ip: string, port: number, verdict: Verdict][] = [
  ['l1', '10.1.2.3', 5000, 'admit'],
  ['l1', '10.1.2.3', 5010, 'admit'],
  ['l1', '10.1.2.3', 4999, 'no route to endpoint port'],
  ['l1', '10.1.2.3', 5011, 'no route to endpoint port'],
  ['l1', '10.2.0.1', 5000, 'no route to endpoint'],
  ['l1', '2001:db8::7', 1, 'admit'],
  ['l1', '2001:db9::7', 1, 'no route to endpoint'],
  ['l1', '10.7.0.1', 9000, 'admit'],
  ['l1', '10.7.0.1', 9101, 'no route to endpoint port'],
  ['l1', '10.9.9.9', 12345, 'admit'],
  ['l1', '10.9.9.8', 12345, 'no route to endpoint'],
  // The gateway itself: relay ports open, listener ports never (even named), admin ports where named.
  ['l1', '10.0.0.1', 40000, 'admit'],
  ['l1', '10.0.0.1', 3478, 'no route to endpoint port'],
  ['l1', '10.0.0.1', 3479, 'no route to endpoint port'],
  ['l1', '10.0.0.1', 8086, 'admit'],
  ['l1', '10.0.0.1', 8080, 'no route to endpoint port'],
  // Mapped and compatible forms are judged as IPv4; dangerous classes need a narrow rule.
  ['l1', '::ffff:10.1.2.3', 5000, 'admit'],
  ['l1', '::10.1.2.3', 5000, 'admit'],
  ['l1', '::ffff:10.0.0.1', 3478, 'no route to endpoint port'],
  ['any', '::ffff:8.8.8.8', 53, 'admit'],
  ['any', '127.0.0.1', 9, 'no route to endpoint'],
  ['any', '169.254.169.254', 80, 'no route to endpoint'],
  ['any', 'fd00:ec2::254', 80, 'no route to endpoint'],
  ['any', 'fe80::1', 9, 'no route to endpoint'],
  ['any', '::1', 9, 'no route to endpoint'],
  ['any', '64:ff9b::a9fe:a9fe', 80, 'no route to endpoint'],
  ['any', '64:ff9b::808:808', 53, 'admit'],
  ['any', '2002:7f00:1::', 9, 'no route to endpoint'],
  ['any', '::ffff:224.0.0.1', 9, 'forbidden address'],
  ['l2', '10.1.2.3', 5000, 'no route to endpoint'],
  ['nope', '10.1.2.3', 5000, 'no route to endpoint'],
  ['l1', 'not-an-ip', 1, 'invalid address'],
  ['any', '8.8.8.8', 53, 'admit'],
  ['any', '0.0.0.0', 1, 'forbidden address'],
  ['any', '0.1.2.3', 1, 'forbidden address'],
  ['any', '224.0.0.1', 1, 'forbidden address'],
  ['any', '239.255.255.250', 1900, 'forbidden address'],
  ['any', '255.255.255.255', 1, 'forbidden address'],
  ['any', '::', 1, 'forbidden address'],
  ['any', 'ff02::1', 1, 'forbidden address'],
];

/**
 * Every CIDR and port range of the table above, for its exact edges: the first and last address it
 * admits (at the first and last port it admits), the address just outside it on each side, and the
 * port just outside its range on each side. A route widened by one bit (/32 to /31) or a port range
 * by one port fails here on its own row.
 */
const EDGES: { listener: string; cidr: string; ports?: [number, number]; at: number }[] = [
  { listener: 'l1', cidr: '10.1.0.0/16', ports: [5000, 5010], at: 5000 },
  { listener: 'l1', cidr: '2001:db8::/32', at: 1 },
  { listener: 'l1', cidr: '10.7.0.1/32', ports: [9000, 9100], at: 9000 },
  { listener: 'l1', cidr: '10.9.9.9/32', at: 12345 },
  // the gateway itself: its relay ports, not its listener or admin ports (rows above)
  { listener: 'l1', cidr: '10.0.0.1/32', at: 40000 },
];

function v6Text(n: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

/** The first and last address of a CIDR, and the addresses just below and above it. */
function cidrEdges(cidr: string): { first: string; last: string; below: string; above: string } {
  const [ip, len] = cidr.split('/') as [string, string];
  const prefix = Number(len);
  if (!ip.includes(':')) {
    const size = 2 ** (32 - prefix);
    const first = ipv4ToInt(ip);
    return {
      first: intToIpv4(first),
      last: intToIpv4(first + size - 1),
      below: intToIpv4(first - 1),
      above: intToIpv4(first + size),
    };
  }
  const size = 1n << BigInt(128 - prefix);
  const first = ipv6ToBigInt(ip);
  return {
    first: v6Text(first),
    last: v6Text(first + size - 1n),
    below: v6Text(first - 1n),
    above: v6Text(first + size),
  };
}

const edgeRows: [listener: string, ip: string, port: number, verdict: Verdict, what: string][] =
  EDGES.flatMap(({ listener, cidr, ports, at }) => {
    const e = cidrEdges(cidr);
    const rows: [string, string, number, Verdict, string][] = [];
    for (const [ip, which] of [
      [e.first, 'first'],
      [e.last, 'last'],
    ] as const) {
      for (const port of ports ?? [at]) rows.push([listener, ip, port, 'admit', `${cidr}: ${which} address`]);
      if (ports) {
        rows.push([
          listener,
          ip,
          ports[0] - 1,
          'no route to endpoint port',
          `${cidr}: port below ${ports[0]}`,
        ]);
        rows.push([
          listener,
          ip,
          ports[1] + 1,
          'no route to endpoint port',
          `${cidr}: port above ${ports[1]}`,
        ]);
      }
    }
    rows.push([listener, e.below, at, 'no route to endpoint', `${cidr}: the address below`]);
    rows.push([listener, e.above, at, 'no route to endpoint', `${cidr}: the address above`]);
    return rows;
  });

describe('route matcher', () => {
  it.each(rows)('%s: %s port %i -> %s', (listener, ip, port, verdict) => {
    const r = decidePeer(table, listener, ip, port);
    expect(typeof r === 'string' ? r : 'admit').toBe(verdict);
  });

  it.each(edgeRows)('edge: %s: %s port %i -> %s (%s)', (listener, ip, port, verdict) => {
    const r = decidePeer(table, listener, ip, port);
    expect(typeof r === 'string' ? r : 'admit').toBe(verdict);
  });

  it('holds the edges of every CIDR and port range of the table', () => {
    const cidrs = [media, self].flatMap((c) => [...c.staticRules, ...c.dnsRules, ...c.dynamicRules]).length;
    // media: 2 static, 1 DNS, 1 dynamic; self: one address (its three rules share it)
    expect(cidrs).toBe(7);
    expect(EDGES).toHaveLength(5);
    expect(edgeRows.length).toBeGreaterThanOrEqual(EDGES.length * 4);
  });

  it('reports the first matching cluster, the port ranges of every match, and own-ness', () => {
    const a = matchPeer(table, 'l1', '10.1.2.3');
    if (typeof a === 'string') throw new Error(a);
    expect(a.cluster.name).toBe('media');
    expect(a.ranges).toEqual([5000, 5010]);
    expect(a.ownIp).toBe(false);
    const own = matchPeer(table, 'l1', '10.0.0.1');
    if (typeof own === 'string') throw new Error(own);
    expect(own.cluster.name).toBe('self');
    expect(own.ownIp).toBe(true);
    expect(own.ranges).toBeNull();
    expect(own.blockedPorts).toEqual([3478, 3479, 8080]);
  });

  it('counts 127.0.0.0/8 as the gateway itself behind a wildcard listener', () => {
    const lo = cluster('lo', { static: [rule('127.0.0.0', 8)] });
    const t: RouteTable = { ...table, routes: new Map([['l', [lo]]]), wildcardListener: true };
    const a = matchPeer(t, 'l', '127.0.0.2');
    if (typeof a === 'string') throw new Error(a);
    expect(a.ownIp).toBe(true);
    expect(decidePeer(t, 'l', '127.0.0.2', 3478)).toBe('no route to endpoint port');
    expect(matchPeer({ ...t, wildcardListener: false }, 'l', '127.0.0.2')).toMatchObject({ ownIp: false });
  });
});
