/**
 * The perimeter table (issue 15): a real relay (in this process, real sockets) with three
 * listeners on `::`, one per kind of route: a normal route (10.0.0.0/8 and, as the positive
 * control, 127.0.0.2/32), an allow-any route (0.0.0.0/0 and ::/0) and a headless route (what the
 * constructs render: the gateway's own address limited to its relay port range). More than 40
 * peers, IPv4 and IPv6 (mapped, compatible, 6to4 and NAT64 forms of loopback and metadata, private,
 * CGNAT and ULA ranges, multicast, broadcast, unspecified, the gateway's own listener, health and
 * metrics ports), each through CreatePermission, ChannelBind, a Send indication and ChannelData,
 * on an IPv4 and an IPv6 allocation. A peer is refused (403) unless its route admits it, and no
 * datagram leaves for a refused one: a dual-stack sink on every loopback address catches anything
 * that does, and the relay's per-cluster counters must show nothing sent. Then loopback peers send
 * to every relay address from the peer side, and nothing reaches a client unless routed.
 * Admitted non-loopback peers (10.0.0.1 and such) are only checked for their answers: nothing is
 * sent to real networks.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attr, type TransportAddress } from '../../../runtime/stun/index.js';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { TurnClient, TurnError } from '../../helpers/turn-client.js';
import { sleep, until } from '../../helpers/wait.js';

const RELAY_MIN = 21_000;
const RELAY_MAX = 21_099;
type Route = 'normal' | 'allow-any' | 'headless';
const ROUTES: readonly Route[] = ['normal', 'allow-any', 'headless'];

interface Peer {
  readonly ip: string;
  /** 'sink' (the catch-all sink's port), an own port, or a port number (the headless range's edges). */
  readonly port: 'sink' | 'listener' | 'health' | 'metrics' | number;
  /** A public address: only the answers are checked, nothing is sent to it even when refused. */
  readonly answersOnly?: boolean;
}

const at = (ip: string, port: Peer['port'] = 'sink'): Peer => ({ ip, port });
const publicAt = (ip: string): Peer => ({ ip, port: 'sink', answersOnly: true });
const ownV4 = (() => {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  return undefined;
})();

const PEERS: Peer[] = [
  // IPv4: loopback, link-local and metadata, unspecified, multicast, broadcast
  at('127.0.0.1'),
  at('127.0.0.2'),
  at('127.255.255.254'),
  at('169.254.169.254'),
  at('169.254.0.1'),
  at('0.0.0.0'),
  at('0.1.2.3'),
  at('224.0.0.1'),
  at('239.255.255.250'),
  at('255.255.255.255'),
  // private and CGNAT
  at('10.0.0.1'),
  at('172.16.0.1'),
  at('192.168.1.1'),
  at('100.64.0.1'),
  at('100.127.255.254'),
  // the gateway's own ports
  at('127.0.0.1', 'listener'),
  at('127.0.0.1', 'health'),
  at('127.0.0.1', 'metrics'),
  ...(ownV4 ? [at(ownV4, 'listener'), at(ownV4, 'health')] : []),
  // The exact edges of the normal route's CIDRs: 127.0.0.2/32 (127.0.0.1 above is the address
  // below it) and 10.0.0.0/8; and of the headless route's port range, on both of its addresses.
  at('127.0.0.3'),
  at('10.0.0.0'),
  at('10.255.255.255'),
  publicAt('9.255.255.255'),
  publicAt('11.0.0.0'),
  // 127.0.0.1 and ::1 (single addresses, with the range) have their neighbours at a port in the range
  at('127.0.0.0', RELAY_MIN),
  at('::2', RELAY_MIN),
  at('127.0.0.2', RELAY_MIN),
  at('127.0.0.1', RELAY_MIN - 1),
  at('127.0.0.1', RELAY_MIN),
  at('127.0.0.1', RELAY_MAX),
  at('127.0.0.1', RELAY_MAX + 1),
  at('::1', RELAY_MIN - 1),
  at('::1', RELAY_MIN),
  at('::1', RELAY_MAX),
  at('::1', RELAY_MAX + 1),
  // IPv6: loopback, unspecified, link-local, metadata, multicast
  at('::1'),
  at('::'),
  at('fe80::1'),
  at('fd00:ec2::254'),
  at('ff02::1'),
  at('ff05::1:3'),
  // mapped and compatible forms
  at('::ffff:127.0.0.1'),
  at('::ffff:127.0.0.2'),
  at('::ffff:169.254.169.254'),
  at('::ffff:0.0.0.0'),
  at('::ffff:224.0.0.1'),
  at('::ffff:255.255.255.255'),
  at('::ffff:10.0.0.1'),
  at('::ffff:100.64.0.1'),
  at('::127.0.0.1'),
  at('::169.254.169.254'),
  // 6to4 and NAT64 forms
  at('2002:7f00:1::1'),
  at('2002:a9fe:a9fe::1'),
  at('2002:a00:1::1'),
  at('64:ff9b::7f00:1'),
  at('64:ff9b::a9fe:a9fe'),
  at('64:ff9b::a00:1'),
  // IPv6 private (ULA)
  at('fc00::1'),
  at('fd12:3456::1'),
  // own ports on IPv6 and mapped forms
  at('::1', 'listener'),
  at('::1', 'health'),
  at('::ffff:127.0.0.1', 'listener'),
  at('::127.0.0.1', 'listener'),
];

/** Peers (by IP) each route admits for some port, and the (IP, port) pairs it admits. */
const ADMITTED_IPS: Record<Route, ReadonlySet<string>> = {
  normal: new Set([
    '127.0.0.2',
    '::ffff:127.0.0.2',
    '10.0.0.1',
    '::ffff:10.0.0.1',
    '10.0.0.0',
    '10.255.255.255',
  ]),
  'allow-any': new Set([
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.254',
    '::ffff:10.0.0.1',
    '::ffff:100.64.0.1',
    '2002:a00:1::1',
    '64:ff9b::a00:1',
    'fc00::1',
    'fd12:3456::1',
    '10.0.0.0',
    '10.255.255.255',
    '9.255.255.255',
    '11.0.0.0',
    ...(ownV4 ? [ownV4] : []),
  ]),
  // The gateway's own address (127.0.0.1 here, in every form), on its relay ports only.
  headless: new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1', '::127.0.0.1']),
};
const admitsPort = (route: Route, p: Peer): boolean =>
  ADMITTED_IPS[route].has(p.ip) &&
  (route === 'headless'
    ? typeof p.port === 'number' && p.port >= RELAY_MIN && p.port <= RELAY_MAX
    : p.port === 'sink' || typeof p.port === 'number');

const isV4 = (ip: string) => !ip.includes(':');

describe('perimeter table: 40+ peers x 3 routes x CreatePermission, ChannelBind, Send, ChannelData, peer side (issue 15)', () => {
  let rt: InProcessStunnerd;
  let sink: Socket;
  let sinkPort: number;
  const sunk: string[] = [];
  const ports: Record<Route, number> = { normal: 0, 'allow-any': 0, headless: 0 };
  let health = 0;
  let metrics = 0;
  const clients: TurnClient[] = [];
  const allocs = new Map<string, { c: TurnClient; relay: TransportAddress }>();

  beforeAll(async () => {
    sink = createSocket({ type: 'udp6', ipv6Only: false });
    sink.on('message', (m, r) => sunk.push(`${r.address}:${r.port} ${m.toString()}`));
    await new Promise<void>((r) => sink.bind(0, '::', r));
    sinkPort = sink.address().port;
    for (const r of ROUTES) ports[r] = await freePort();
    health = await freePort();
    metrics = await freePort();
    rt = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { healthcheck_endpoint: `http://:${health}`, metrics_endpoint: `http://:${metrics}/metrics` },
        auth: { realm: 'table', credentials: { username: 'u', password: 'p' } },
        listeners: ROUTES.map((r) => ({
          name: r,
          address: '::',
          port: ports[r],
          routes: [r],
          ...(r === 'headless' ? { min_relay_port: RELAY_MIN, max_relay_port: RELAY_MAX } : {}),
        })),
        clusters: [
          { name: 'normal', endpoints: ['10.0.0.0/8', '127.0.0.2/32'] },
          { name: 'allow-any', endpoints: ['0.0.0.0/0', '::/0'] },
          {
            name: 'headless',
            endpoints: [`127.0.0.1:<${RELAY_MIN}-${RELAY_MAX}>`, `::1:<${RELAY_MIN}-${RELAY_MAX}>`],
          },
        ],
      },
      { logLevel: 'all:WARN' },
    );
    for (const r of ROUTES) {
      for (const fam of [4, 6] as const) {
        const c = await TurnClient.open({ host: '127.0.0.1', port: ports[r], username: 'u', password: 'p' });
        clients.push(c);
        const relay = await c.allocate((b) => {
          b.addRequestedTransport(17);
          if (fam === 6) b.addBuffer(Attr.REQUESTED_ADDRESS_FAMILY, Buffer.from([2, 0, 0, 0]));
        });
        allocs.set(`${r}/${fam}`, { c, relay });
      }
    }
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    sink?.close();
    await rt?.stop();
  });

  const portOf = (p: Peer, route: Route): number =>
    typeof p.port === 'number'
      ? p.port
      : p.port === 'sink'
        ? sinkPort
        : p.port === 'listener'
          ? ports[route]
          : p.port === 'health'
            ? health
            : metrics;
  const codeOf = async (f: () => Promise<unknown>): Promise<number> => {
    try {
      await f();
      return 0;
    } catch (e) {
      if (e instanceof TurnError) return e.code;
      throw e;
    }
  };
  const clusterTx = () => {
    let n = 0;
    for (const [, s] of rt.daemon.stats.clusters) n += s.txPackets;
    return n;
  };

  it('has at least 40 peers', () => {
    expect(PEERS.length).toBeGreaterThanOrEqual(40);
  });

  for (const route of ROUTES) {
    it(`${route} route: refuses every peer it does not route, and nothing leaves`, async () => {
      const txBefore = clusterTx();
      const sunkBefore = sunk.length;
      let channel = 0x4000;
      let sent = 0;
      const failures: string[] = [];
      for (const p of PEERS) {
        const { c } = allocs.get(`${route}/${isV4(p.ip) ? 4 : 6}`)!;
        const peer: TransportAddress = { family: isV4(p.ip) ? 4 : 6, address: p.ip, port: portOf(p, route) };
        const label = `${route} ${p.ip}:${p.port}`;
        const perm = await codeOf(() => c.createPermission(peer));
        const wantPerm = ADMITTED_IPS[route].has(p.ip) ? 0 : 403;
        if (perm !== wantPerm) failures.push(`${label}: CreatePermission ${perm}, expected ${wantPerm}`);
        const ch = channel++;
        const bind = await codeOf(() => c.channelBind(ch, peer));
        const wantBind = admitsPort(route, p) ? 0 : 403;
        if (bind !== wantBind) failures.push(`${label}: ChannelBind ${bind}, expected ${wantBind}`);
        const loopbackControl = route === 'normal' && p.ip.endsWith('127.0.0.2') && p.port === 'sink';
        if (admitsPort(route, p) && !loopbackControl) continue; // routed to a real network: send nothing
        if (p.answersOnly) continue; // a public address: its answers are the check
        c.send(peer, Buffer.from(`send ${label}`));
        c.channelData(ch, Buffer.from(`channel ${label}`));
        if (loopbackControl) sent += 2;
      }
      await until('the positive control at the sink', () => sunk.length - sunkBefore >= sent);
      // a negative check: time for anything the perimeter wrongly admitted to reach the sink
      await sleep(300);
      expect(failures).toEqual([]);
      // Only the positive control (127.0.0.2 on the normal route, IPv4 and mapped) reached the sink.
      const got = sunk.slice(sunkBefore);
      expect(got.length, got.join('\n')).toBe(sent);
      for (const line of got) expect(line).toMatch(/127\.0\.0\.2/);
      expect(clusterTx() - txBefore).toBe(sent);
    });
  }

  it('drops what loopback peers send to every relay address unless their route admits them', async () => {
    const from = async (address: string, type: 'udp4' | 'udp6') => {
      const s = createSocket(type);
      await new Promise<void>((r) => s.bind(0, address, r));
      return s;
    };
    const senders = [
      await from('127.0.0.1', 'udp4'),
      await from('127.0.0.2', 'udp4'),
      await from('::1', 'udp6'),
    ];
    const before = clients.map((c) => c.received.length);
    const ownPeers = [await from('127.0.0.1', 'udp4')];
    try {
      for (const [key, { relay }] of allocs) {
        for (const s of [...senders, ...ownPeers]) {
          const v6 = s.address().family === 'IPv6';
          // Reach the relay socket where it listens: its reported address, or loopback in its family.
          const targets = relay.family === 4 ? [relay.address, '127.0.0.1'] : [relay.address, '::1'];
          if (v6 !== (relay.family === 6)) continue;
          for (const t of targets)
            s.send(Buffer.from(`from ${s.address().address} to ${key}`), relay.port, t);
        }
      }
      const normalClient = allocs.get('normal/4')!.c;
      const normalBefore = before[clients.indexOf(normalClient)]!;
      await until('the control (127.0.0.2) relayed', () => normalClient.received.length > normalBefore);
      // a negative check: time for what the other routes must drop to arrive
      await sleep(300);
      const got = clients.map((c, i) =>
        c.received.slice(before[i]).map((x) => `${x.peer?.address ?? x.via}`),
      );
      // The normal route's IPv4 client has a permission for 127.0.0.2 (the control): it gets those.
      const normal4 = clients.indexOf(allocs.get('normal/4')!.c);
      for (const [i, list] of got.entries()) {
        if (i === normal4) {
          expect(list.length).toBeGreaterThan(0);
          for (const a of list) expect(a).toBe('127.0.0.2');
        } else expect(list, `client ${i}`).toEqual([]);
      }
    } finally {
      for (const s of [...senders, ...ownPeers]) s.close();
    }
  });
});
