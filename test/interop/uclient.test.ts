/**
 * Interop with coturn's own test clients (turnutils_uclient + turnutils_peer) against our runtime,
 * started through the real CLI on loopback. Every mode must relay with 0 % loss; a wrong password
 * and a stopped runtime must make uclient fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd, startStunnerdInProcess } from '../helpers/stunnerd.js';
import { peerPorts, runUclient, startPeer } from '../helpers/uclient.js';

describe('coturn turnutils_uclient against stunnerd', () => {
  let rt: StunnerdProcess;
  let port: number;
  let peerPort: number;
  let peer: { stop(): void };

  beforeAll(async () => {
    port = await freePort();
    peerPort = await peerPorts();
    peer = await startPeer(peerPort);
    rt = await startStunnerd({
      version: 'v1',
      admin: { name: 'interop', healthcheck_endpoint: '' },
      auth: { type: 'static', realm: 'interop', credentials: { username: 'user', password: 'secret' } },
      listeners: [
        { name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['peers'] },
        { name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port, routes: ['peers'] },
      ],
      clusters: [{ name: 'peers', type: 'STATIC', endpoints: ['127.0.0.1'] }],
    });
  });

  afterAll(async () => {
    await rt?.stop();
    peer?.stop();
  });

  const base = () => [
    '-u',
    'user',
    '-w',
    'secret',
    '-p',
    String(port),
    '-e',
    '127.0.0.1',
    '-r',
    String(peerPort),
  ];
  const load = ['-n', '30', '-m', '3', '-l', '172', '-z', '5'];

  const modes: [string, string[]][] = [
    ['channel mode (EVEN-PORT + RESERVATION-TOKEN for RTP/RTCP)', []],
    ['Send/Data mode (-s)', ['-s']],
    ['TCP (-t)', ['-t']],
    ['TCP with Send/Data (-t -s)', ['-t', '-s']],
    ['TCP with mandatory channel padding (-t -D)', ['-t', '-D']],
    ['explicit IPv4 REQUESTED-ADDRESS-FAMILY with DONT-FRAGMENT (-X -g)', ['-X', '-g']],
    // Headless: the clients relay to each other's relay addresses, i.e. the gateway's own address.
    ['client to client (-y)', ['-y']],
    ['client to client over TCP (-y -t)', ['-y', '-t']],
  ];

  it('relays every mode with 0% loss', async () => {
    const results = await Promise.all(
      modes.map(([, flags]) => runUclient([...flags, ...base(), ...load, '127.0.0.1'])),
    );
    results.forEach((r, i) => {
      const name = modes[i]![0];
      expect(r.output, name).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      expect(r.lost, name).toBe(0);
      // 3 clients x 30 messages, RTP and RTCP each.
      expect(r.sent, name).toBeGreaterThanOrEqual(90);
      expect(r.received, name).toBe(r.sent);
      expect(r.code, name).toBe(0);
    });
  }, 60_000);

  it('fails with a wrong password', async () => {
    const args = ['-u', 'user', '-w', 'wrong', ...base().slice(4), '-n', '5', '-m', '1', '127.0.0.1'];
    const r = await runUclient(args);
    expect(r.code).not.toBe(0);
    expect(r.lost).toBeUndefined();
    expect(r.output).toMatch(/Cannot complete Allocation/);
  });

  it('fails against a stopped runtime', async () => {
    const other = await startStunnerd({
      version: 'v1',
      admin: { healthcheck_endpoint: '' },
      auth: { credentials: { username: 'user', password: 'secret' } },
      listeners: [{ name: 'udp', address: '127.0.0.1', port: await freePort(), routes: ['peers'] }],
      clusters: [{ name: 'peers', endpoints: ['127.0.0.1'] }],
    });
    const otherPort = /udp=TURN-UDP:127\.0\.0\.1:(\d+)/.exec(other.output())![1]!;
    const args = ['-u', 'user', '-w', 'secret', '-p', otherPort, '-e', '127.0.0.1', '-r', String(peerPort)];
    const ok = await runUclient([...args, '-n', '5', '-m', '1', '127.0.0.1']);
    expect(ok.lost).toBe(0);
    expect(await other.stop()).toBe(0);
    const r = await runUclient([...args, '-n', '5', '-m', '1', '127.0.0.1'], 10_000);
    expect(r.code).not.toBe(0);
    expect(r.lost).toBeUndefined();
  });

  it('authenticates TURN REST API (ephemeral) credentials as uclient -W derives them', async () => {
    const ephPort = await freePort();
    const eph = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { healthcheck_endpoint: '' },
        auth: { type: 'ephemeral', realm: 'rest', credentials: { secret: 'shared-secret' } },
        listeners: [{ name: 'udp', address: '127.0.0.1', port: ephPort, routes: ['peers'] }],
        clusters: [{ name: 'peers', endpoints: ['127.0.0.1'] }],
      },
      { logLevel: 'all:WARN' },
    );
    try {
      const args = ['-u', 'alice', '-p', String(ephPort), '-e', '127.0.0.1', '-r', String(peerPort)];
      const [ok, bad] = await Promise.all([
        runUclient(['-W', 'shared-secret', ...args, '-n', '10', '-m', '1', '127.0.0.1']),
        runUclient(['-W', 'not-the-secret', ...args, '-n', '10', '-m', '1', '127.0.0.1']),
      ]);
      expect(ok.lost).toBe(0);
      expect(ok.received).toBe(ok.sent);
      expect(bad.code).not.toBe(0);
      expect(bad.output).toMatch(/Cannot complete Allocation/);
    } finally {
      await eph.stop();
    }
  });
});
