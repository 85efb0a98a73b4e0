import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthArgs } from '../../../runtime/ice/cli.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';
import { freeTcpPort } from '../../helpers/net.js';
import { ephemeralGateway, staticTlsGateway } from './fixtures.js';

const MAIN = new URL('../../../runtime/main.ts', import.meta.url).pathname;
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function run(args: string[]): { proc: ChildProcess; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'auth', ...args], { stdio: 'pipe' });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  child = proc;
  return { proc, out: () => out, err: () => err };
}

const exited = (p: ChildProcess) =>
  new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));

describe('stunnerd auth argument parsing', () => {
  it('takes configs, port, address, log spec and public addresses', () => {
    const a = parseAuthArgs([
      '-c',
      'a.json',
      'dir',
      '--port=9000',
      '-a',
      '127.0.0.1',
      '--public-address',
      'ns/gw=1.2.3.4',
    ]);
    expect(a.paths).toEqual(['a.json', 'dir']);
    expect(a.port).toBe(9000);
    expect(a.address).toBe('127.0.0.1');
    expect(a.publicAddresses.get('ns/gw')).toBe('1.2.3.4');
  });

  it('says what is wrong', () => {
    expect(() => parseAuthArgs([])).toThrow(/no config given/);
    expect(() => parseAuthArgs(['-c', 'x', '-p', '70000'])).toThrow('-p: "70000" is not a valid port');
    expect(() => parseAuthArgs(['-c', 'x', '--bogus'])).toThrow('unknown option --bogus');
    expect(() => parseAuthArgs(['-c'])).toThrow('-c needs a value');
    expect(() => parseAuthArgs(['x', '--public-address', 'nope'])).toThrow(/<namespace\/gateway>=<address>/);
    expect(() => parseAuthArgs(['x', '--max-ttl', '0'])).toThrow('--max-ttl: "0" is not valid');
    expect(() => parseAuthArgs(['x', '--max-ttl', '31536001'])).toThrow(/from 1 to 31536000/);
    expect(() => parseAuthArgs(['x', '--max-connections-per-ip', '0'])).toThrow(/from 1 to 1024/);
  });

  it('caps the credential lifetime at one day and a client IP at 64 connections unless told', () => {
    expect(parseAuthArgs(['x'])).toMatchObject({ maxTtl: 86400, maxConnectionsPerIp: 64 });
    expect(parseAuthArgs(['x', '--max-ttl', '600', '--max-connections-per-ip=8'])).toMatchObject({
      maxTtl: 600,
      maxConnectionsPerIp: 8,
    });
  });
});

describe('stunnerd auth process', () => {
  it('serves /ice from a mounted directory and stops on SIGTERM with exit 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ice-cli-'));
    await writeFile(join(dir, 'stunnerd.conf'), JSON.stringify(ephemeralGateway()));
    const port = await freeTcpPort();
    const p = run(['-c', dir, '-p', String(port), '-a', '127.0.0.1', '-l', 'all:WARN']);
    const end = Date.now() + 15_000;
    while (!p.out().includes('stunnerd auth ready') && Date.now() < end && p.proc.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(p.out()).toContain(`stunnerd auth ready on 127.0.0.1:${port}`);
    const res = await fetch(`http://127.0.0.1:${port}/ice?service=turn&namespace=media`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { iceServers: unknown[] }).iceServers).toHaveLength(1);
    p.proc.kill('SIGTERM');
    expect(await exited(p.proc)).toBe(0);
  });

  it('--watch-services follows the gateway Service (Kubernetes API TEST DOUBLE)', async () => {
    const api = new K8sApiDouble();
    await api.start();
    try {
      dir = await mkdtemp(join(tmpdir(), 'ice-cli-'));
      const c = staticTlsGateway();
      // As the gateway construct renders it: no cert/key, no public address.
      await writeFile(
        join(dir, 'stunnerd.conf'),
        JSON.stringify({ ...c, listeners: c.listeners.map(({ cert: _c, key: _k, ...l }) => l) }),
      );
      await writeFile(join(dir, 'token'), `${api.token}\n`);
      const port = await freeTcpPort();
      const p = run([
        '-c',
        join(dir, 'stunnerd.conf'),
        '-p',
        String(port),
        '-a',
        '127.0.0.1',
        '-l',
        'all:WARN',
        '--watch-services',
        '--kube-api-server',
        api.url,
        '--kube-token-file',
        join(dir, 'token'),
      ]);
      const until = async (cond: () => Promise<boolean> | boolean, ms = 15_000) => {
        const end = Date.now() + ms;
        while (!(await cond())) {
          if (Date.now() > end || p.proc.exitCode !== null)
            throw new Error(`not in time:\n${p.out()}${p.err()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await until(() => p.out().includes('stunnerd auth ready'));
      const ice = () => fetch(`http://127.0.0.1:${port}/ice?service=turn&namespace=games&gateway=tls-gw`);
      expect((await ice()).status).toBe(404);
      api.upsert(
        'services',
        service('games', 'tls-gw', {
          type: 'LoadBalancer',
          ports: [{ name: 'tls', port: 443, protocol: 'TCP' }],
          ingress: [{ hostname: 'turn.example.com' }],
        }),
      );
      await until(async () => (await ice()).status === 200);
      const body = (await (await ice()).json()) as { iceServers: { urls: string[] }[] };
      expect(body.iceServers[0]!.urls).toEqual([
        'turns:turn.example.com:443?transport=tcp',
        'turns:turn.example.com:443?transport=udp',
      ]);
      expect(api.requests.some((r) => r.includes('fieldSelector=metadata.name%3Dtls-gw'))).toBe(true);
    } finally {
      await api.stop();
    }
  });

  it('exits 2 (usage, docs/cli.md) with the reason on bad arguments, without a stack trace', async () => {
    const p = run(['--port', 'abc']);
    expect(await exited(p.proc)).toBe(2);
    expect(p.err()).toContain('stunnerd auth: --port: "abc" is not a valid port');
    expect(p.err()).not.toMatch(/\n\s+at /);
  });
});
