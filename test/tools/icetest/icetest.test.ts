/**
 * `stunnerctl icetest` (its main(), as the stunnerctl dispatcher and `stunnerd icetest` call it)
 * against a real relay on loopback with a headless route (its own relay addresses are a backend):
 * it passes over TURN-UDP and TURN-TCP, and fails naming the step when the runtime is stopped,
 * the password is wrong, or the route is removed.
 */
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/index.js';
import { main, runIceTest } from '../../../tools/icetest/icetest.js';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { UdpPeer } from '../../helpers/turn-client.js';

function gatewayConfig(port: number, opts: { password?: string; routes?: string[] } = {}) {
  return {
    version: 'v1',
    admin: { name: 'stunner/headless-gw', healthcheck_endpoint: '' },
    auth: { type: 'static', credentials: { username: 'user', password: opts.password ?? 'pass' } },
    listeners: [
      {
        name: 'stunner/headless-gw/udp',
        protocol: 'TURN-UDP',
        address: '127.0.0.1',
        port,
        routes: opts.routes ?? ['stunner/headless'],
      },
      {
        name: 'stunner/headless-gw/tcp',
        protocol: 'TURN-TCP',
        address: '127.0.0.1',
        port,
        routes: opts.routes ?? ['stunner/headless'],
      },
    ],
    // Headless: the backends are the gateway's own (pod) addresses.
    clusters: [{ name: 'stunner/headless', endpoints: ['127.0.0.1/32'] }],
  };
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await main(argv, { stdout, stderr });
  return { code, out, err };
}

describe('stunnerctl icetest', () => {
  let dir: string;
  let port: number;
  let relay: InProcessStunnerd | undefined;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icetest-'));
    port = await freePort();
    file = join(dir, 'gw.json');
    await writeFile(file, JSON.stringify(gatewayConfig(port)));
    relay = await startStunnerdInProcess(gatewayConfig(port), { logLevel: 'all:ERROR' });
  });

  afterAll(async () => {
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes over every TURN-UDP and TURN-TCP listener through two allocations to itself', async () => {
    const r = await run(['-c', file, '--count', '40', '--rate', '200']);
    expect(r.err).toBe('');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^PASS stunner\/headless-gw\/udp TURN-UDP 127\.0\.0\.1:\d+: sent 40 received 40 loss 0\.0% rtt p50 [\d.]+ ms p99 [\d.]+ ms$/,
    );
    expect(lines[1]).toMatch(
      /^PASS stunner\/headless-gw\/tcp TURN-TCP 127\.0\.0\.1:\d+: sent 40 received 40 loss 0\.0%/,
    );
    expect(r.code).toBe(0);
    // Every allocation was released with Refresh(0).
    expect(relay!.daemon.allocationCount()).toBe(0);
  }, 30_000);

  it('uses an echo backend with --peer, and reports JSON with -o json', async () => {
    const peer = await UdpPeer.open(true);
    try {
      const r = await run([
        '-c',
        file,
        '--listener',
        'udp',
        '--peer',
        `udp://127.0.0.1:${peer.address.port}`,
        '-n',
        '20',
        '--rate',
        '200',
        '-o',
        'json',
      ]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out) as { ok: boolean; results: { received: number; rttP99Ms: number }[] };
      expect(report.ok).toBe(true);
      expect(report.results).toHaveLength(1);
      expect(report.results[0]!.received).toBe(20);
      expect(peer.got.length).toBe(20);
    } finally {
      peer.close();
    }
  }, 30_000);

  it('fails at "no relay" when the echo backend is down', async () => {
    const peer = await UdpPeer.open(false); // receives, never answers
    try {
      const r = await run([
        '-c',
        file,
        '--listener',
        'udp',
        '--peer',
        `udp://127.0.0.1:${peer.address.port}`,
        '-n',
        '5',
        '--timeout',
        '500',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        /^FAIL stunner\/headless-gw\/udp TURN-UDP 127\.0\.0\.1:\d+: no relay: no packet came back/,
      );
    } finally {
      peer.close();
    }
  }, 30_000);

  it('says "replies came back but were not echoes" when the peer answers with something else', async () => {
    const peer = createSocket('udp4');
    peer.on('message', (_m, from) => peer.send('not your packet', from.port, from.address));
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    try {
      const r = await run([
        '-c',
        file,
        '--listener',
        'udp',
        '--peer',
        `udp://127.0.0.1:${peer.address().port}`,
        '-n',
        '5',
        '--timeout',
        '500',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        /: no relay: replies came back but were not echoes \(5 packet\(s\) from 127\.0\.0\.1:/,
      );
    } finally {
      peer.close();
    }
  }, 30_000);

  it('fails at 401 naming the user and realm when the password is wrong', async () => {
    const bad = join(dir, 'wrong-password.json');
    await writeFile(bad, JSON.stringify(gatewayConfig(port, { password: 'wrong' })));
    const r = await run(['-c', bad, '-n', '5']);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatch(
        /^FAIL stunner\/headless-gw\/(udp|tcp) TURN-(UDP|TCP) 127\.0\.0\.1:\d+: 401: allocate: 401 .*user "user" in realm "stunner\.l7mp\.io"/,
      );
    }
  }, 30_000);

  it('fails at 403 when the headless route is removed', async () => {
    const port2 = await freePort();
    const noRoute = gatewayConfig(port2, { routes: [] });
    const bare = await startStunnerdInProcess(noRoute, { logLevel: 'all:ERROR' });
    try {
      const f = join(dir, 'no-route.json');
      await writeFile(f, JSON.stringify(noRoute));
      const r = await run(['-c', f, '-n', '5']);
      expect(r.code).toBe(1);
      expect(r.out.trim().split('\n')[0]).toMatch(
        /^FAIL stunner\/headless-gw\/udp TURN-UDP 127\.0\.0\.1:\d+: 403: .*403 .*outside the routes of listener "stunner\/headless-gw\/udp"/,
      );
    } finally {
      await bare.stop();
    }
  }, 30_000);

  it('fails at "unreachable" when the runtime is stopped, within the timeout', async () => {
    const port3 = await freePort();
    const cfg = gatewayConfig(port3);
    const stopped = await startStunnerdInProcess(cfg, { logLevel: 'all:ERROR' });
    await stopped.stop();
    const t0 = Date.now();
    const report = await runIceTest({ configs: [parseConfig(cfg)], count: 5, timeoutMs: 800 });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(report.ok).toBe(false);
    expect(report.results.map((r) => r.step)).toEqual(['unreachable', 'unreachable']);
    expect(report.results[0]!.message).toMatch(/no answer to Allocate|ECONNREFUSED|unreachable/);
    expect(report.results[1]!.message).toMatch(/ECONNREFUSED/);
  }, 30_000);

  it('prints usage for --help (0) and one line for bad arguments (2)', async () => {
    expect((await run(['--help'])).code).toBe(0);
    const r = await run(['--count', 'x', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('icetest: --count: "x" is not a number from 1 to 100000');
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.err.split('\n')[0]).toMatch(/^icetest: give a source/);
  });
});
