/** The route perimeter: numeric matching, port ranges, forbidden targets, own ports, DNS, dynamic endpoints. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/index.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { type Admission, Perimeter, portAllowed } from '../../../runtime/policy/perimeter.js';
import { decidePeer } from '../../../runtime/policy/route-match.js';
import { canonicalIpv6, intToIpv4, ipv4ToInt, ipv6ToBigInt } from '../../../runtime/stun/ip.js';

function logSink() {
  const lines: string[] = [];
  const logger = createLogger('all:DEBUG', (l) => lines.push(l));
  return { lines, log: logger.scope('perimeter') };
}

function config(clusters: object[], routes = ['c1'], extra: object = {}) {
  return parseConfig({
    version: 'v1',
    auth: { credentials: { username: 'u', password: 'p' } },
    listeners: [
      { name: 'l1', address: '10.0.0.1', port: 3478, routes },
      { name: 'l2', address: '10.0.0.1', port: 3479, protocol: 'TURN-TCP', routes: [] },
    ],
    clusters,
    ...extra,
  });
}

function admitted(r: ReturnType<Perimeter['check']>): Admission {
  if (typeof r === 'string') throw new Error(`denied: ${r}`);
  return r;
}

describe('ip helpers', () => {
  it('parses IPv4 numerically and rejects junk', () => {
    expect(ipv4ToInt('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', '', '1.2.3.4 ', '::1']) {
      expect(ipv4ToInt(bad), bad).toBe(-1);
    }
    expect(intToIpv4(0x7f000001)).toBe('127.0.0.1');
  });
  it('parses IPv6 into bigints and canonicalizes', () => {
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('2001:db8::1')).toBe((0x20010db8n << 96n) | 1n);
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe((0xffffn << 32n) | 0x01020304n);
    expect(canonicalIpv6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
  });
});

describe('Perimeter', () => {
  it('admits peers inside a routed STATIC cluster by IP and CIDR, denies the rest', () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(config([{ name: 'c1', endpoints: ['192.168.1.0/24', '10.5.5.5', 'fd00::/8'] }]));
    expect(admitted(p.check('l1', '192.168.1.77')).cluster.name).toBe('c1');
    expect(admitted(p.check('l1', '10.5.5.5')).ranges).toBeNull();
    expect(admitted(p.check('l1', 'fd12::3')).cluster.name).toBe('c1');
    expect(p.check('l1', '192.168.2.1')).toBe('no route to endpoint');
    expect(p.check('l1', '10.5.5.6')).toBe('no route to endpoint');
    // Not routed from l2.
    expect(p.check('l2', '192.168.1.77')).toBe('no route to endpoint');
    expect(p.check('nope', '192.168.1.77')).toBe('no route to endpoint');
    expect(p.check('l1', 'not-an-ip')).toBe('invalid address');
  });

  it('holds the exact edges of every CIDR and port range it is given (as the config writes them)', () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(
      config([
        {
          name: 'c1',
          endpoints: ['192.168.1.0/24', '10.5.5.5', '10.5.5.16/30:<5000-5010>', 'fd00::/8', '2001:db8::5'],
        },
      ]),
    );
    // [address, admitted?] for the first and last address of each CIDR and the one outside each side
    const addresses: [string, boolean][] = [
      ['192.168.0.255', false],
      ['192.168.1.0', true],
      ['192.168.1.255', true],
      ['192.168.2.0', false],
      ['10.5.5.4', false],
      ['10.5.5.5', true],
      ['10.5.5.6', false],
      ['10.5.5.15', false],
      ['10.5.5.16', true],
      ['10.5.5.19', true],
      ['10.5.5.20', false],
      ['fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
      ['fd00::', true],
      ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
      ['fe00::', false],
      ['2001:db8::4', false],
      ['2001:db8::5', true],
      ['2001:db8::6', false],
    ];
    for (const [ip, ok] of addresses) {
      const r = p.check('l1', ip);
      expect(typeof r === 'string' ? r : 'admit', ip).toBe(ok ? 'admit' : 'no route to endpoint');
    }
    // the port range's edges, at the first and last address of its CIDR
    for (const ip of ['10.5.5.16', '10.5.5.19']) {
      const a = admitted(p.check('l1', ip));
      expect(
        [4999, 5000, 5010, 5011].map((port) => portAllowed(a.ranges, a.blockedPorts, port)),
        ip,
      ).toEqual([false, true, true, false]);
    }
  });

  it('never admits 0.0.0.0/8, multicast or broadcast, even under 0.0.0.0/0', () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(config([{ name: 'c1', endpoints: ['0.0.0.0/0', '::/0'] }]));
    for (const ip of [
      '0.0.0.0',
      '0.1.2.3',
      '224.0.0.1',
      '239.255.255.250',
      '255.255.255.255',
      '::',
      'ff02::1',
    ]) {
      expect(p.check('l1', ip), ip).toBe('forbidden address');
    }
    expect(admitted(p.check('l1', '8.8.8.8')).ranges).toBeNull();
  });

  it('carries port ranges and checks them per datagram', () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(config([{ name: 'c1', endpoints: ['10.1.0.0/16:<5000-5010>', '10.1.2.3:<7000-7000>'] }]));
    const a = admitted(p.check('l1', '10.1.2.3'));
    expect(a.ranges).toEqual([5000, 5010, 7000, 7000]);
    expect(portAllowed(a.ranges, a.blockedPorts, 5000)).toBe(true);
    expect(portAllowed(a.ranges, a.blockedPorts, 5010)).toBe(true);
    expect(portAllowed(a.ranges, a.blockedPorts, 7000)).toBe(true);
    expect(portAllowed(a.ranges, a.blockedPorts, 4999)).toBe(false);
    expect(portAllowed(a.ranges, a.blockedPorts, 5011)).toBe(false);
    const b = admitted(p.check('l1', '10.1.9.9'));
    expect(b.ranges).toEqual([5000, 5010]);
  });

  it("keeps the gateway's own listener ports closed, even when a route names them", () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    // Headless: the gateway's own address is a route target, so clients may reach each other's relays.
    p.load(config([{ name: 'c1', endpoints: ['10.0.0.1'] }]));
    const a = admitted(p.check('l1', '10.0.0.1'));
    expect(a.ownIp).toBe(true);
    expect(portAllowed(a.ranges, a.blockedPorts, 40000)).toBe(true);
    expect(portAllowed(a.ranges, a.blockedPorts, 3478)).toBe(false);
    expect(portAllowed(a.ranges, a.blockedPorts, 3479)).toBe(false);
    expect(portAllowed(a.ranges, a.blockedPorts, 8086)).toBe(false);
    p.load(config([{ name: 'c1', endpoints: ['10.0.0.1:<3478-3478>', '10.0.0.1:<8086-8086>', '10.0.0.1'] }]));
    const b = admitted(p.check('l1', '10.0.0.1'));
    expect(portAllowed(b.ranges, b.blockedPorts, 3478)).toBe(false);
    expect(portAllowed(b.ranges, b.blockedPorts, 3479)).toBe(false);
    // The health port opens for a route that names it.
    expect(portAllowed(b.ranges, b.blockedPorts, 8086)).toBe(true);
  });

  it('re-resolves STRICT_DNS names, keeps the last good set on failure, and logs it', async () => {
    const { log, lines } = logSink();
    let answer: string[] | Error = ['10.7.0.1', '10.7.0.2'];
    const p = new Perimeter({
      logger: log,
      ownAddresses: [],
      resolve: async () => {
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    p.load(
      config([
        { name: 'c1', type: 'STRICT_DNS', endpoints: ['media.default.svc.cluster.local:<9000-9100>'] },
      ]),
    );
    expect(p.check('l1', '10.7.0.1')).toBe('no route to endpoint');
    await p.resolveAll();
    const gen = p.generation;
    expect(admitted(p.check('l1', '10.7.0.2')).ranges).toEqual([9000, 9100]);
    answer = new Error('SERVFAIL');
    await p.resolveAll();
    expect(p.generation).toBe(gen);
    expect(admitted(p.check('l1', '10.7.0.1')).cluster.name).toBe('c1');
    expect(
      lines.some((l) =>
        /cannot resolve media\.default.*SERVFAIL.*keeping \[10\.7\.0\.1, 10\.7\.0\.2\]/.test(l),
      ),
    ).toBe(true);
    answer = ['10.7.0.3'];
    await p.resolveAll();
    expect(p.generation).toBeGreaterThan(gen);
    expect(p.check('l1', '10.7.0.1')).toBe('no route to endpoint');
    expect(admitted(p.check('l1', '10.7.0.3')).cluster.name).toBe('c1');
  });

  it('bounds a hanging resolver in time', async () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [], resolve: () => new Promise(() => {}) });
    p.load(config([{ name: 'c1', type: 'STRICT_DNS', endpoints: ['slow.example'] }]));
    const t0 = Date.now();
    await p.resolveAll();
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('unions dynamic endpoints with static ones and bumps the generation', () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(config([{ name: 'c1', endpoints: ['10.1.1.1'] }]));
    const g = p.generation;
    p.setDynamicEndpoints('c1', ['10.2.2.2', 'junk']);
    expect(p.generation).toBeGreaterThan(g);
    expect(admitted(p.check('l1', '10.2.2.2')).cluster.name).toBe('c1');
    expect(admitted(p.check('l1', '10.1.1.1')).cluster.name).toBe('c1');
    p.setDynamicEndpoints('c1', undefined);
    expect(p.check('l1', '10.2.2.2')).toBe('no route to endpoint');
    // Dynamic endpoints survive a reload of the same cluster.
    p.setDynamicEndpoints('c1', ['10.3.3.3']);
    p.load(config([{ name: 'c1', endpoints: ['10.1.1.1'] }]));
    expect(admitted(p.check('l1', '10.3.3.3')).cluster.name).toBe('c1');
  });

  it('resolves STRICT_DNS names with the system resolver (localhost)', async () => {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses: [] });
    p.load(config([{ name: 'c1', type: 'STRICT_DNS', endpoints: ['localhost'] }]));
    expect(p.check('l1', '127.0.0.1')).toBe('no route to endpoint');
    await p.start();
    p.stop();
    expect(admitted(p.check('l1', '127.0.0.1')).cluster.name).toBe('c1');
  });
});

/** Issue 15, holes 3 and 4: the gateway itself and the dangerous address classes. */
describe('Perimeter: self and dangerous peers (issue 15)', () => {
  function wildcard(endpoints: string[], ownAddresses = ['10.0.0.5']) {
    const { log } = logSink();
    const p = new Perimeter({ logger: log, ownAddresses });
    p.load(
      parseConfig({
        version: 'v1',
        admin: { healthcheck_endpoint: 'http://:8086', metrics_endpoint: 'http://:8080/metrics' },
        auth: { credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'l', address: '::', port: 3478, routes: ['c'] }],
        clusters: [{ name: 'c', endpoints }],
      }),
    );
    return (ip: string, port: number) => {
      const r = decidePeer(p.routeTable(), 'l', ip, port);
      return typeof r === 'string' ? r : 'admit';
    };
  }

  it('hole 3: never relays to its own listener in any form (IPv4, mapped, compatible, ::1, pod IP), even when routed', () => {
    const own = ['127.0.0.1', '::ffff:127.0.0.1', '::127.0.0.1', '::1', '10.0.0.5', '::ffff:10.0.0.5'];
    const allowAny = wildcard(['0.0.0.0/0', '::/0']);
    const routed = wildcard([
      '127.0.0.0/8:<3478-3478>',
      '::1:<3478-3478>',
      '10.0.0.5:<3478-3478>',
      '::ffff:0:0/96:<3478-3478>',
    ]);
    for (const ip of own) {
      expect(allowAny(ip, 3478), ip).not.toBe('admit');
      expect(routed(ip, 3478), ip).not.toBe('admit');
    }
    // A ::/0 route does not admit IPv4 peers through their mapped form.
    const v6only = wildcard(['::/0']);
    expect(v6only('::ffff:8.8.8.8', 53)).toBe('no route to endpoint');
    expect(v6only('2001:db8::1', 53)).toBe('admit');
  });

  it('hole 4: allow-any admits no loopback, link-local, metadata, unspecified, multicast, broadcast or own health port', () => {
    const allowAny = wildcard(['0.0.0.0/0', '::/0']);
    for (const ip of [
      '127.0.0.1',
      '127.1.2.3',
      '169.254.169.254',
      '169.254.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:169.254.169.254',
      '::169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::7f00:1',
      '2002:a9fe:a9fe::1',
      '2002:7f00:1::1',
    ]) {
      expect(allowAny(ip, 40000), ip).not.toBe('admit');
    }
    expect(allowAny('10.0.0.5', 8086)).not.toBe('admit');
    expect(allowAny('10.0.0.5', 8080)).not.toBe('admit');
    expect(allowAny('10.0.0.5', 40000)).toBe('admit');
    expect(allowAny('8.8.8.8', 53)).toBe('admit');
    expect(allowAny('2001:db8::1', 53)).toBe('admit');
    // An explicit, narrower route opens a class.
    const explicit = wildcard(['169.254.169.254/32', 'fd00:ec2::254', '127.0.0.0/8']);
    expect(explicit('169.254.169.254', 80)).toBe('admit');
    expect(explicit('fd00:ec2::254', 80)).toBe('admit');
    expect(explicit('127.0.0.2', 9000)).toBe('admit');
    // Broader than the class: not explicit.
    expect(wildcard(['128.0.0.0/1', '0.0.0.0/1'])('127.0.0.2', 9000)).not.toBe('admit');
  });
});
