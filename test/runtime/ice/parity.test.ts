/**
 * Parity with STUNner's auth service (l7mp/stunner-auth-service): the `public-addr` query parameter
 * (and its older name `public-ip`), STUNNER_PUBLIC_ADDR, the TURN REST API `key` (accepted, or
 * required when configured), and the NodePort fallback of the gateway Service watch (Kubernetes API
 * TEST DOUBLE). The CLI cases run the real `stunnerd auth`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeKubeApi } from '../../../runtime/cluster-watch/kube-config.js';
import { buildIceServers } from '../../../runtime/ice/ice-config.js';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { GatewayServiceWatch } from '../../../runtime/ice/service-watch.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { K8sApiDouble, node, service } from '../../helpers/k8s-api-double.js';
import { freeTcpPort } from '../../helpers/net.js';
import { STUNNERD_BIN } from '../../helpers/stunnerd.js';
import { until } from '../../helpers/wait.js';
import { config } from './fixtures.js';

const gw = config({
  version: 'v1',
  admin: { name: 'stunner/udp-gateway' },
  auth: { type: 'static', credentials: { username: 'user', password: 'pass' } },
  listeners: [
    {
      name: 'stunner/udp-gateway/udp',
      protocol: 'TURN-UDP',
      address: '$STUNNER_ADDR',
      port: 3478,
      public_address: '198.51.100.1',
    },
    { name: 'stunner/udp-gateway/tcp', protocol: 'TURN-TCP', address: '$STUNNER_ADDR', port: 3479 },
  ],
});

type Ice = { iceServers: { urls: string[] }[] };

describe('auth service: public-addr, STUNNER_PUBLIC_ADDR and key', () => {
  const servers: IceAuthServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  async function start(opts: ConstructorParameters<typeof IceAuthServer>[0] = {}): Promise<string> {
    const s = new IceAuthServer(opts);
    servers.push(s);
    s.setConfigs([gw]);
    return `http://127.0.0.1:${(await s.listen(0, '127.0.0.1')).port}`;
  }
  const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(3000) });

  it('public-addr overrides every URI host, even a configured public_address; public-ip is its alias', async () => {
    const base = await start();
    const plain = (await (await get(`${base}/ice?service=turn`)).json()) as Ice;
    // Without an override: the configured address; the tcp listener has none, so it is left out.
    expect(plain.iceServers[0]!.urls).toEqual(['turn:198.51.100.1:3478?transport=udp']);
    for (const param of ['public-addr', 'public-ip']) {
      const r = await get(`${base}/ice?service=turn&${param}=203.0.113.5`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as Ice).iceServers[0]!.urls).toEqual([
        'turn:203.0.113.5:3478?transport=udp',
        'turn:203.0.113.5:3479?transport=tcp',
      ]);
    }
    const rest = (await (await get(`${base}/?service=turn&public-addr=turn.example.com`)).json()) as {
      uris: string[];
    };
    expect(rest.uris).toEqual([
      'turn:turn.example.com:3478?transport=udp',
      'turn:turn.example.com:3479?transport=tcp',
    ]);
    const v6 = (await (await get(`${base}/ice?service=turn&public-addr=2001:db8::1`)).json()) as Ice;
    expect(v6.iceServers[0]!.urls[0]).toBe('turn:[2001:db8::1]:3478?transport=udp');
  });

  it('refuses a public-addr that is not a host with 400 naming it', async () => {
    const base = await start();
    const r = await get(`${base}/ice?service=turn&public-addr=${encodeURIComponent('a b')}`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(
      /^parameter "public-addr" is "a b"; expected an IP address or a DNS name$/,
    );
  });

  it('STUNNER_PUBLIC_ADDR (publicAddress) is the host of every answer, and a request public-addr wins over it', async () => {
    const base = await start({ publicAddress: '192.0.2.44' });
    const a = (await (await get(`${base}/ice?service=turn`)).json()) as Ice;
    expect(a.iceServers[0]!.urls).toEqual([
      'turn:192.0.2.44:3478?transport=udp',
      'turn:192.0.2.44:3479?transport=tcp',
    ]);
    const b = (await (await get(`${base}/ice?service=turn&public-addr=203.0.113.5`)).json()) as Ice;
    expect(b.iceServers[0]!.urls[0]).toBe('turn:203.0.113.5:3478?transport=udp');
  });

  it('accepts key when no API key is configured', async () => {
    const base = await start();
    expect((await get(`${base}/ice?service=turn&key=anything`)).status).toBe(200);
    expect((await get(`${base}/?service=turn&key=anything`)).status).toBe(200);
  });

  it('requires the configured API key on /ice and / (401 otherwise)', async () => {
    const base = await start({ apiKey: 's3cr3t-key' });
    for (const path of ['/ice', '/']) {
      const missing = await get(`${base}${path}?service=turn`);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toEqual({ status: 401, message: 'parameter "key" is required' });
      const wrong = await get(`${base}${path}?service=turn&key=s3cr3t-kez`);
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { message: string }).message).toBe(
        'parameter "key" is not the API key',
      );
      expect((await get(`${base}${path}?service=turn&key=s3cr3t-key`)).status).toBe(200);
    }
    // Probes need no key.
    expect((await get(`${base}/ready`)).status).toBe(200);
  });

  it('exports the answer builder with every query field optional (what stunnerctl auth calls)', () => {
    const r = buildIceServers(
      [gw],
      { get: () => undefined },
      { publicAddr: '203.0.113.9', listener: 'tcp', namespace: 'stunner', gateway: 'udp-gateway' },
      1_700_000_000,
    );
    expect(r).toEqual({
      ok: true,
      servers: [{ urls: ['turn:203.0.113.9:3479?transport=tcp'], username: 'user', credential: 'pass' }],
    });
  });
});

describe('stunnerd auth CLI: STUNNER_PUBLIC_ADDR and --api-key-file', () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-parity-'));
    await writeFile(join(dir, 'gw.json'), JSON.stringify(gw));
    await writeFile(join(dir, 'api-key'), 'k-123\n');
  });
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('answers with the environment address and only with the key from the file', async () => {
    const port = await freeTcpPort();
    proc = spawn(
      process.execPath,
      [
        STUNNERD_BIN,
        'auth',
        '-c',
        join(dir, 'gw.json'),
        '-p',
        String(port),
        '-a',
        '127.0.0.1',
        '--api-key-file',
        join(dir, 'api-key'),
        '-l',
        'all:WARN',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STUNNER_PUBLIC_ADDR: '192.0.2.77' } },
    );
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await until('auth ready', () => out.includes('stunnerd auth ready') || proc!.exitCode !== null, 20_000);
    expect(out).toContain('stunnerd auth ready');
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/ice?service=turn`, { signal: AbortSignal.timeout(3000) })).status).toBe(401);
    const r = await fetch(`${base}/ice?service=turn&key=k-123`, { signal: AbortSignal.timeout(3000) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as Ice).iceServers[0]!.urls).toEqual([
      'turn:192.0.2.77:3478?transport=udp',
      'turn:192.0.2.77:3479?transport=tcp',
    ]);
  }, 40_000);
});

describe('auth service: NodePort fallback through the gateway Service watch', () => {
  let api: K8sApiDouble;
  let server: IceAuthServer;
  let watch: GatewayServiceWatch;
  let base: string;
  const nodeGw = config({
    version: 'v1',
    admin: { name: 'stunner/np-gw' },
    auth: { type: 'static', credentials: { username: 'user', password: 'pass' } },
    listeners: [{ name: 'stunner/np-gw/udp', protocol: 'TURN-UDP', address: '$STUNNER_ADDR', port: 3478 }],
  });

  beforeAll(async () => {
    api = new K8sApiDouble();
    await api.start();
    server = new IceAuthServer();
    base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
    watch = new GatewayServiceWatch({
      api: makeKubeApi({ server: api.url, token: api.token }),
      log: createLogger('all:ERROR').scope('watch'),
      setPublicAddress: (g, a, p) => server.setPublicAddress(g, a, p),
      nodeFallback: true,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
  });
  afterAll(async () => {
    watch.stop();
    await server.close();
    await api.stop();
  });

  const urls = async (): Promise<string[] | number> => {
    const r = await fetch(`${base}/ice?service=turn`, { signal: AbortSignal.timeout(3000) });
    if (r.status !== 200) return r.status;
    return ((await r.json()) as Ice).iceServers[0]!.urls;
  };

  it('answers the first node ExternalIP with the NodePort while there is no load balancer, then the load balancer', async () => {
    server.setConfigs([nodeGw]);
    api.upsert('nodes', node('node-b', [{ type: 'ExternalIP', address: '203.0.113.8' }]));
    api.upsert('nodes', node('node-a', [{ type: 'InternalIP', address: '10.0.0.1' }]));
    api.upsert('nodes', node('node-c', [{ type: 'ExternalIP', address: '203.0.113.9' }]));
    api.upsert(
      'services',
      service('stunner', 'np-gw', {
        type: 'NodePort',
        ports: [{ name: 'udp', port: 3478, protocol: 'UDP', nodePort: 31478 }],
      }),
    );
    watch.sync([nodeGw]);
    await until('the NodePort address', async () => Array.isArray(await urls()), 5000);
    // node-a has no ExternalIP: node-b is the first (by name) that has one.
    expect(await urls()).toEqual(['turn:203.0.113.8:31478?transport=udp']);

    api.upsert(
      'services',
      service('stunner', 'np-gw', {
        type: 'LoadBalancer',
        ports: [{ name: 'udp', port: 3478, protocol: 'UDP', nodePort: 31478 }],
        ingress: [{ ip: '198.51.100.20' }],
      }),
    );
    await until(
      'the load-balancer address',
      async () => JSON.stringify(await urls()).includes('198.51.100.20'),
      5000,
    );
    expect(await urls()).toEqual(['turn:198.51.100.20:3478?transport=udp']);
  }, 20_000);
});
