/**
 * Protocol equivalence: STUNner's stunnerd (v1.2.1, built by scripts/build-stunner.sh) and ours
 * run the same dataplane config, each on its own loopback ports, and every scripted conversation
 * (test/differential/conversations.ts) runs against both. The answers are compared step by step:
 * class, error code, which attributes are present, LIFETIME, the relayed address family, and
 * whether relayed data came back. Every difference must be listed in LISTED below, each with its
 * section in docs/stunner-differences.md; an unlisted difference fails the test, and so does a
 * listed one that no longer occurs (the document would be wrong).
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportAddress } from '../../runtime/stun/index.js';
import { freeTcpPort, freeUdpPort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { selfSignedCert } from '../helpers/tls.js';
import { compareSteps, type Difference, formatDifference, type Listed, matchListed } from './compare.js';
import { CONVERSATIONS, CREDS, type Peers, type Target } from './conversations.js';
import { type GoStunnerd, startGoStunnerd } from './stunner-bin.js';
import type { Step } from './turn-script.js';

const DOC = 'docs/stunner-differences.md';

const L = (key: string, stunner: string, ours: string, doc: string): Listed => ({ key, stunner, ours, doc });

/** STUNner allocates (relayed address of `family`), ours answers error `code`. */
const allocRefused = (key: string, code: number, family: 4 | 6, doc: string): Listed[] => [
  L(`${key} / class`, 'success', 'error', doc),
  L(`${key} / error code`, 'absent', String(code), doc),
  L(`${key} / attribute ERROR_CODE`, 'absent', 'present', doc),
  L(`${key} / attribute LIFETIME`, 'present', 'absent', doc),
  L(`${key} / attribute XOR_MAPPED_ADDRESS`, 'present', 'absent', doc),
  L(`${key} / attribute XOR_RELAYED_ADDRESS`, 'present', 'absent', doc),
  L(`${key} / lifetime`, '600', 'absent', doc),
  L(`${key} / relayed family`, `IPv${family}`, 'absent', doc),
];

/** STUNner answers error `code`, ours allocates (IPv4, 600 s). */
const allocGranted = (key: string, code: number, doc: string): Listed[] => [
  L(`${key} / class`, 'error', 'success', doc),
  L(`${key} / error code`, String(code), 'absent', doc),
  L(`${key} / attribute ERROR_CODE`, 'present', 'absent', doc),
  L(`${key} / attribute LIFETIME`, 'absent', 'present', doc),
  L(`${key} / attribute XOR_MAPPED_ADDRESS`, 'absent', 'present', doc),
  L(`${key} / attribute XOR_RELAYED_ADDRESS`, 'absent', 'present', doc),
  L(`${key} / lifetime`, 'absent', '600', doc),
  L(`${key} / relayed family`, 'absent', 'IPv4', doc),
];

/** STUNner does not answer, ours answers 437 Allocation Mismatch. */
const silentVs437 = (key: string, doc: string): Listed[] => [
  L(`${key} / class`, 'none', 'error', doc),
  L(`${key} / error code`, 'absent', '437', doc),
  L(`${key} / attribute ERROR_CODE`, 'absent', 'present', doc),
];

/**
 * The differences we know of; `doc` names the section of docs/stunner-differences.md that gives
 * the reason. Keys are `<conversation> / <step> / <field>`, `*` matching any text.
 */
const LISTED: readonly Listed[] = [
  // 1. Error answers to authenticated requests
  L('* / attribute MESSAGE_INTEGRITY', 'absent', 'present', '1'),
  // 2. FINGERPRINT on Binding answers
  L('* / Binding* / attribute FINGERPRINT', 'present', 'absent', '2'),
  // 3. Failed authentication
  ...['wrong password', 'unknown user', 'wrong realm', 'corrupted MESSAGE-INTEGRITY'].flatMap((w) => [
    L(`wrong credentials / Allocate, ${w} / error code`, '400', '401', '3'),
    L(`wrong credentials / Allocate, ${w} / attribute NONCE`, 'absent', 'present', '3'),
    L(`wrong credentials / Allocate, ${w} / attribute REALM`, 'absent', 'present', '3'),
  ]),
  // 4. TCP allocations (RFC 6062)
  L('allocate for TCP (REQUESTED-TRANSPORT 6) / Allocate (credentials) / error code', '508', '442', '4'),
  // 5. Relayed address family
  ...allocRefused('allocate for IPv6 relaying on an IPv4 listener / Allocate (credentials)', 440, 4, '5'),
  ...allocRefused('IPv6 listener / Allocate, no REQUESTED-ADDRESS-FAMILY (credentials)', 440, 6, '5'),
  // 6. Unknown comprehension-required attributes
  L('allocate with an unknown * / Allocate (no credentials) / error code', '420', '401', '6'),
  L(
    'allocate with an unknown * / Allocate (no credentials) / attribute UNKNOWN_ATTRIBUTES',
    'present',
    'absent',
    '6',
  ),
  L(
    'allocate with an unknown * / Allocate (no credentials) / unknown attributes',
    '0x0000,0x0042',
    'absent',
    '6',
  ),
  L('allocate with an unknown * / Allocate (no credentials) / attribute NONCE', 'absent', 'present', '6'),
  L('allocate with an unknown * / Allocate (no credentials) / attribute REALM', 'absent', 'present', '6'),
  L(
    'allocate with an unknown * / Allocate (credentials) / unknown attributes',
    '0x0000,0x0042',
    '0x0042',
    '6',
  ),
  // 7. DONT-FRAGMENT
  ...allocGranted('allocate with DONT-FRAGMENT / Allocate (credentials)', 420, '7'),
  L(
    'allocate with DONT-FRAGMENT / Allocate (credentials) / attribute UNKNOWN_ATTRIBUTES',
    'present',
    'absent',
    '7',
  ),
  L(
    'allocate with DONT-FRAGMENT / Allocate (credentials) / unknown attributes',
    '0x0000,DONT_FRAGMENT',
    'absent',
    '7',
  ),
  // 8. Requests without an allocation
  ...silentVs437('lifetimes / Refresh before any allocation', '8'),
  ...silentVs437('lifetimes / Refresh after deletion', '8'),
  ...silentVs437('lifetimes / CreatePermission after deletion', '8'),
  // 9. Lifetimes
  L('lifetimes / Allocate, LIFETIME 30 / lifetime', '30', '600', '9'),
  L('lifetimes / Refresh, LIFETIME 7200 / lifetime', '600', '3600', '9'),
  L('allocate lifetime bounds / Allocate, LIFETIME 86400 / lifetime', '600', '3600', '9'),
  // 10. CreatePermission errors without ERROR-CODE
  ...[
    ['permissions / CreatePermission, peer outside the routes', '403'],
    ['permissions / CreatePermission, one peer inside and one outside', '403'],
    ['permissions / CreatePermission without XOR-PEER-ADDRESS', '400'],
    ['permissions / CreatePermission, IPv6 peer on an IPv4 allocation', '443'],
    ['TURN-TCP / CreatePermission, peer outside the routes', '403'],
    ['IPv6 listener / CreatePermission, IPv4 peer inside the routes', '443'],
  ].flatMap(([k, code]) => [
    L(`${k} / error code`, 'absent', code!, '10'),
    L(`${k} / attribute ERROR_CODE`, 'absent', 'present', '10'),
  ]),
  // 11. ChannelBind to a peer outside the routes
  L('channels / ChannelBind 0x4001, peer outside the routes / error code', '401', '403', '11'),
  // 12. Port ranges
  L('port ranges / ChannelBind, port outside the range / class', 'success', 'error', '12'),
  L('port ranges / ChannelBind, port outside the range / error code', 'absent', '403', '12'),
  L('port ranges / ChannelBind, port outside the range / attribute ERROR_CODE', 'absent', 'present', '12'),
  // 13. User quota
  ...allocRefused('user quota / client 3: allocate (user_quota 2) (credentials)', 486, 4, '13'),
  ...allocGranted('user quota / client 3: Allocate after client 1 freed one', 437, '13'),
  // 14. A wrong FINGERPRINT
  L('malformed / Allocate, bad FINGERPRINT / class', 'error', 'none', '14'),
  L('malformed / Allocate, bad FINGERPRINT / error code', '401', 'absent', '14'),
  L('malformed / Allocate, bad FINGERPRINT / attribute ERROR_CODE', 'present', 'absent', '14'),
  L('malformed / Allocate, bad FINGERPRINT / attribute NONCE', 'present', 'absent', '14'),
  L('malformed / Allocate, bad FINGERPRINT / attribute REALM', 'present', 'absent', '14'),
];

const REALM = 'stunner.l7mp.io';

interface Ports {
  udp: number;
  tcp: number;
  tls: number;
  udp6: number;
}

/** The dataplane config both implementations run (only fields STUNner's v1 schema has). */
function config(name: string, ports: Ports, tls: { cert: string; key: string }, ranged: string) {
  const routes = ['echo', 'ranged'];
  return {
    version: 'v1',
    admin: { name, loglevel: 'all:WARN', healthcheck_endpoint: '' },
    auth: {
      type: 'static',
      realm: REALM,
      credentials: { username: CREDS.username, password: CREDS.password },
    },
    listeners: [
      { name: `${name}/udp`, protocol: 'TURN-UDP', address: '127.0.0.1', port: ports.udp, routes },
      { name: `${name}/tcp`, protocol: 'TURN-TCP', address: '127.0.0.1', port: ports.tcp, routes },
      { name: `${name}/tls`, protocol: 'TURN-TLS', address: '127.0.0.1', port: ports.tls, routes, ...tls },
      {
        name: `${name}/udp6`,
        protocol: 'TURN-UDP',
        address: '::1',
        port: ports.udp6,
        routes: ['echo6', 'echo'],
      },
    ],
    clusters: [
      { name: 'echo', type: 'STATIC', endpoints: ['127.0.0.1/32'] },
      { name: 'ranged', type: 'STATIC', endpoints: [ranged] },
      { name: 'echo6', type: 'STATIC', endpoints: ['::1/128'] },
    ],
  };
}

/** The second server of each implementation: one UDP listener, user_quota 2. */
function quotaConfig(name: string, port: number) {
  return {
    version: 'v1',
    admin: { name, loglevel: 'all:WARN', healthcheck_endpoint: '', user_quota: 2 },
    auth: {
      type: 'static',
      realm: REALM,
      credentials: { username: CREDS.username, password: CREDS.password },
    },
    listeners: [{ name: `${name}/udp`, protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['echo'] }],
    clusters: [{ name: 'echo', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
}

/** A free UDP port on ::1 (the shared helper binds IPv4 sockets only). */
async function freeUdp6Port(): Promise<number> {
  const s = createSocket('udp6');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '::1', resolve);
  });
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function ports(): Promise<Ports> {
  return {
    udp: await freeUdpPort(),
    tcp: await freeTcpPort(),
    tls: await freeTcpPort(),
    udp6: await freeUdp6Port(),
  };
}

const target = (p: Ports, quota: number): Target => ({
  udp: { host: '127.0.0.1', port: p.udp, transport: 'udp' },
  tcp: { host: '127.0.0.1', port: p.tcp, transport: 'tcp' },
  tls: { host: '127.0.0.1', port: p.tls, transport: 'tls' },
  udp6: { host: '::1', port: p.udp6, transport: 'udp' },
  quota: { host: '127.0.0.1', port: quota, transport: 'udp' },
});

async function echoSocket(host: string): Promise<Socket> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, resolve);
  });
  return s;
}

const addr = (s: Socket): TransportAddress => {
  const a = s.address();
  return { family: a.family === 'IPv6' ? 6 : 4, address: a.address, port: a.port };
};

describe('protocol equivalence with STUNner v1.2.1 stunnerd', () => {
  const sockets: Socket[] = [];
  const go: GoStunnerd[] = [];
  const ours: StunnerdProcess[] = [];
  let peers: Peers;
  let stunnerTarget: Target;
  let ourTarget: Target;

  beforeAll(async () => {
    for (const h of ['127.0.0.1', '127.0.0.2', '127.0.0.2', '::1']) sockets.push(await echoSocket(h));
    const [echo, inRange, outOfRange, echo6] = sockets.map(addr) as [
      TransportAddress,
      TransportAddress,
      TransportAddress,
      TransportAddress,
    ];
    peers = { echo, inRange, outOfRange, echo6 };
    const ranged = `127.0.0.2:<${inRange.port}-${inRange.port}>`;
    const tls = await selfSignedCert();

    const gp = await ports();
    const gq = await freeUdpPort();
    go.push(
      await startGoStunnerd(config('stunner/diff', gp, tls, ranged), { host: '127.0.0.1', port: gp.udp }),
    );
    go.push(await startGoStunnerd(quotaConfig('stunner/quota', gq), { host: '127.0.0.1', port: gq }));
    stunnerTarget = target(gp, gq);

    const op = await ports();
    const oq = await freeUdpPort();
    ours.push(await startStunnerd(config('stunner/diff', op, tls, ranged)));
    ours.push(await startStunnerd(quotaConfig('stunner/quota', oq)));
    ourTarget = target(op, oq);
  }, 60_000);

  afterAll(async () => {
    for (const g of go) await g.stop();
    for (const o of ours) await o.stop();
    for (const s of sockets) s.close();
  });

  it('answers every scripted conversation as STUNner does, but for the listed differences', async () => {
    const all: Difference[] = [];
    let fields = 0;
    let steps = 0;
    const records: { name: string; stunner: Step[]; ours: Step[] }[] = [];
    for (const conv of CONVERSATIONS) {
      const s = await conv.run(stunnerTarget, peers);
      const o = await conv.run(ourTarget, peers);
      records.push({ name: conv.name, stunner: s, ours: o });
      const r = compareSteps(conv.name, s, o);
      all.push(...r.differences);
      fields += r.fields;
      steps += r.steps;
    }
    const { unlisted, matched, stale } = matchListed(all, LISTED);
    console.log(
      `protocol equivalence: ${CONVERSATIONS.length} conversations, ${steps} steps, ${fields} fields compared; ` +
        `${all.length} differences (${matched.length} listed in ${DOC}, ${unlisted.length} unlisted)`,
    );
    if (process.env.DIFF_DUMP) console.log(JSON.stringify(records, null, 1));
    for (const d of unlisted) console.log(`UNLISTED: ${formatDifference(d)}`);
    for (const l of stale) console.log(`LISTED BUT NOT SEEN: ${l.key}: STUNner ${l.stunner}, ours ${l.ours}`);
    expect(unlisted.map(formatDifference)).toEqual([]);
    expect(stale.map((l) => l.key)).toEqual([]);
    // the comparison really ran: every conversation got answers from both
    expect(steps).toBeGreaterThan(60);
  }, 300_000);

  it('goes red when a server is gone: STUNner stopped, the allocate conversation differs', async () => {
    const probe = CONVERSATIONS.find((c) => c.name === 'allocate')!;
    const q = { ...stunnerTarget, udp: stunnerTarget.quota };
    await go[1]!.stop();
    const s = await probe.run(q, peers);
    const o = await probe.run(ourTarget, peers);
    const r = compareSteps(probe.name, s, o);
    expect(s.every((x) => 'cls' in x.outcome && x.outcome.cls === 'none')).toBe(true);
    expect(matchListed(r.differences, LISTED).unlisted.length).toBeGreaterThan(0);
  }, 60_000);
});
