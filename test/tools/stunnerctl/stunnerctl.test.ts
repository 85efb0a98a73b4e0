/**
 * stunnerctl config/status/auth/graph against the three sources: the committed dist/ (golden
 * files), a running runtime's /status (started as test/helpers/stunnerd.ts does), and a cluster
 * (the labelled Kubernetes API test double).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../tools/stunnerctl/stunnerctl.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../../helpers/stunnerd.js';
import { gatewayConfigMap, gatewayPod, kubeconfigFor } from '../sources/cluster-fixtures.js';

const GOLDEN = join(import.meta.dirname, 'golden');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    now: () => 1_700_000_000,
  });
  return { code, out: out.join(''), err: err.join('') };
}

describe('stunnerctl against the committed dist/', () => {
  it('config: matches the golden summary', async () => {
    const r = await run('config', '-f', 'dist');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(await readFile(join(GOLDEN, 'config-dist.txt'), 'utf8'));
  });

  it('config -o json for one gateway; passwords only with --show-secrets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
    const secret = join(dir, 's.yaml');
    await writeFile(
      secret,
      'kind: Secret\napiVersion: v1\nmetadata: {name: stunner-auth}\nstringData: {username: u1, password: hunter2-long-pass}\n',
    );
    try {
      const r = await run(
        'config',
        'us-east/stunner/udp-gateway',
        '-f',
        'dist',
        '-o',
        'json',
        '--secret-file',
        secret,
      );
      const [doc] = JSON.parse(r.out) as {
        config: { auth: { credentials: Record<string, string> } };
        credentials: string;
      }[];
      expect(doc!.config.auth.credentials).toEqual({ username: 'u1', password: '<redacted>' });
      expect(r.out).not.toContain('hunter2');
      const shown = await run(
        'config',
        'us-east/stunner/udp-gateway',
        '-f',
        'dist',
        '-o',
        'yaml',
        '--show-secrets',
        '--secret-file',
        secret,
      );
      expect(shown.out).toContain('password: hunter2-long-pass');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config: an invalid password written as a number is not echoed in the error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
    const file = join(dir, 'cm.yaml');
    const cm = gatewayConfigMap('ns', 'gw', { secret: 's', nodePortOnly: false });
    const data = cm['data'] as Record<string, string>;
    const conf = JSON.parse(data['stunnerd.conf']!);
    conf.auth.credentials = { username: 'u', password: 12345 };
    data['stunnerd.conf'] = JSON.stringify(conf);
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', ...cm }));
    try {
      const r = await run('config', '-f', file);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/auth\.credentials\.password: expected a string, got a number/);
      expect(r.out + r.err).not.toContain('12345');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('graph: matches the golden Mermaid and names every route and backend', async () => {
    const r = await run('graph', '-f', 'dist');
    expect(r.code).toBe(0);
    const golden = await readFile(join(GOLDEN, 'graph-dist.mmd'), 'utf8');
    expect(r.out).toBe(golden);
    for (const s of [
      'route direct-call/stunner-headless',
      'route stunner/media-plane',
      'Service media/media-server ports 10000-20000',
      'headless: pods of direct-call/udp-gateway, direct-call/tcp-gateway',
      'route cloudretro/worker-udp-route',
      'Service cloudretro/worker-ci-udp-svc ports 8443',
      'route janus/janus-media',
      'route mediasoup/mediasoup-media',
      'Service mediasoup/mediasoup-media ports 40000-49999',
      'route simple-tunnel/udp-greeter',
    ])
      expect(r.out).toContain(s);
    // docs/graph.md shows the same diagram
    expect(await readFile('docs/graph.md', 'utf8')).toContain(golden);
  });

  it('auth: names the Secret when the credentials are not in the YAML, and answers with --secret-file', async () => {
    const r = await run('auth', 'us-east/stunner/udp-gateway', '-f', 'dist');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^stunnerctl auth: .*from Secret stunner-auth.*--secret-file/);
    const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
    const secret = join(dir, 's.yaml');
    await writeFile(
      secret,
      'kind: Secret\napiVersion: v1\nmetadata: {name: stunner-auth-secret, namespace: direct-call}\nstringData: {secret: shared-secret-value}\n',
    );
    try {
      const ok = await run(
        'auth',
        'direct-call/udp-gateway',
        '-f',
        'dist',
        '--secret-file',
        secret,
        '--username',
        'alice',
        '--ttl',
        '600',
      );
      // a LoadBalancer address is not known from YAML: the auth service answers 404 the same way
      expect(ok.code).toBe(1);
      expect(ok.err).toMatch(/no public address is known yet/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('one-line errors and exit codes', async () => {
    expect((await run('config', 'nope', '-f', 'dist')).err).toMatch(
      /^stunnerctl config: no gateway "nope" \(known: .*\)\n$/,
    );
    // An unknown command or a flag the source cannot take is a usage error: 2 (docs/cli.md).
    expect((await run('frob')).code).toBe(2);
    expect((await run('config')).err).toMatch(/give a source/);
    expect((await run('status', '-f', 'dist')).err).toMatch(/needs a live source/);
    expect((await run('config', '-f', 'dist', '-w')).code).toBe(2);
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('import <file>');
  });
});

describe('stunnerctl against a running runtime (--url)', () => {
  let rt: StunnerdProcess;
  let health = 0;
  let turn = 0;
  beforeAll(async () => {
    health = await freeTcpPort();
    turn = await freeUdpPort();
    rt = await startStunnerd({
      version: 'v1',
      admin: {
        name: 'media/live-gw',
        healthcheck_endpoint: `http://127.0.0.1:${health}`,
        metrics_endpoint: '',
      },
      auth: { type: 'ephemeral', credentials: { secret: 'not-served-by-status' } },
      listeners: [
        {
          name: 'media/live-gw/udp',
          protocol: 'TURN-UDP',
          address: '127.0.0.1',
          port: turn,
          public_address: '203.0.113.9',
          public_port: 3478,
          routes: ['media/peers'],
        },
      ],
      clusters: [{ name: 'media/peers', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
    });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('config --url: listeners, public address, routes; credentials never served', async () => {
    const r = await run('config', '--url', `http://127.0.0.1:${health}`);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`gateway 127.0.0.1:${health}/media/live-gw`);
    expect(r.out).toContain(`listener udp: TURN-UDP port ${turn}, public 203.0.113.9:3478 (config)`);
    expect(r.out).toContain('route media/peers (STATIC, UDP): 127.0.0.1/32');
    expect(r.out).toContain('credentials not served by /status');
    expect(r.out).not.toContain('not-served-by-status');
  });

  it('status --url: READY with allocations per listener; an unreachable runtime exits 1', async () => {
    const r = await run('status', '--url', `http://127.0.0.1:${health}`, '-o', 'json');
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.out) as {
      status: string;
      listeners: { name: string; allocations: number }[];
    }[];
    expect(row!.status).toBe('READY');
    expect(row!.listeners).toEqual([{ name: 'media/live-gw/udp', allocations: 0, running: true }]);
    const down = await run('config', '--url', 'http://127.0.0.1:1');
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/unreachable/);
    // status says the same as its help: 1 when a runtime is unreachable (issue 27)
    const status = await run('status', '--url', 'http://127.0.0.1:1');
    expect(status.code).toBe(1);
    expect(status.err).toMatch(/unreachable/);
  });

  it('config -w --url prints the config and stops on abort', async () => {
    const ac = new AbortController();
    const out: string[] = [];
    const done = main(['config', '-w', '--url', `http://127.0.0.1:${health}`, '-o', 'json'], {
      out: (s) => {
        out.push(s);
        ac.abort();
      },
      err: () => {},
      signal: ac.signal,
    });
    expect(await done).toBe(0);
    expect(out.join('')).toContain('"gateway": "media/live-gw"');
  });
});

describe('stunnerctl against a cluster (Kubernetes API test double)', () => {
  const api = new K8sApiDouble();
  let dir = '';
  let kubeconfig = '';
  let rt: StunnerdProcess;
  beforeAll(async () => {
    await api.start();
    dir = await mkdtemp(join(tmpdir(), 'ctl-kc-'));
    kubeconfig = join(dir, 'config');
    await writeFile(kubeconfig, kubeconfigFor(api));
    const health = await freeTcpPort();
    // The "pod" is a local runtime: pod IP 127.0.0.1, health port from the gateway's config.
    const cm = gatewayConfigMap('media', 'gw-a', { secret: 'gw-a-auth', nodePortOnly: false });
    const conf = JSON.parse((cm.data as Record<string, string>)['stunnerd.conf']!);
    conf.admin.healthcheck_endpoint = `http://:${health}`;
    (cm.data as Record<string, string>)['stunnerd.conf'] = JSON.stringify(conf);
    api.upsert('configmaps', cm);
    api.upsert(
      'services',
      service('media', 'gw-a', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        ports: [{ name: 'udp', port: 3478, protocol: 'UDP' }],
        ingress: [{ ip: '198.51.100.77' }],
      }),
    );
    api.upsert('secrets', {
      metadata: { name: 'gw-a-auth', namespace: 'media' },
      stringData: {},
      data: {
        username: Buffer.from('bob').toString('base64'),
        password: Buffer.from('pw-from-cluster').toString('base64'),
      },
    });
    api.upsert('pods', gatewayPod('media', 'gw-a', 'gw-a-1', '127.0.0.1', 'node-1'));
    rt = await startStunnerd({
      version: 'v1',
      admin: { name: 'media/gw-a', healthcheck_endpoint: `http://127.0.0.1:${health}`, metrics_endpoint: '' },
      auth: { type: 'static', credentials: { username: 'bob', password: 'pw-from-cluster' } },
      listeners: [
        {
          name: 'media/gw-a/udp',
          protocol: 'TURN-UDP',
          address: '127.0.0.1',
          port: await freeUdpPort(),
          routes: [],
        },
      ],
    });
  });
  afterAll(async () => {
    await rt?.stop();
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('config: the gateway, its load-balancer address and the user read from the Secret', async () => {
    const r = await run('config', '--kubeconfig', kubeconfig, '--context', 'double');
    expect(r.code).toBe(0);
    expect(r.out).toContain('gateway double/media/gw-a  (double/media/gw-a-config)');
    expect(r.out).toContain(
      'auth: static, realm stunner.l7mp.io, user bob; credentials from Secret gw-a-auth (read from the cluster)',
    );
    expect(r.out).toContain('public 198.51.100.77:3478 (LoadBalancer)');
    expect(r.out).not.toContain('pw-from-cluster');
  });

  it('status: queries every gateway pod on its health port', async () => {
    const r = await run('status', '--kubeconfig', kubeconfig);
    expect(r.out).toMatch(
      /^double\/media\/gw-a pod gw-a-1: READY, 0 allocations\n {2}listener media\/gw-a\/udp: 0 allocations\n$/,
    );
    expect(r.code).toBe(0);
  });

  it('auth: an ICE configuration as the auth service answers it', async () => {
    const r = await run('auth', 'media/gw-a', '--kubeconfig', kubeconfig);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ice: {
        iceServers: [
          { urls: ['turn:198.51.100.77:3478?transport=udp'], username: 'bob', credential: 'pw-from-cluster' },
        ],
        iceTransportPolicy: 'all',
      },
      turnRest: {
        username: 'bob',
        password: 'pw-from-cluster',
        ttl: 86400,
        uris: ['turn:198.51.100.77:3478?transport=udp'],
      },
    });
  });

  it('config -w: follows a ConfigMap change through the watch', async () => {
    const ac = new AbortController();
    const outs: string[] = [];
    const done = main(['config', '-w', '--kubeconfig', kubeconfig, '-o', 'json'], {
      out: (s) => {
        outs.push(s);
        if (outs.length === 1) {
          const cm = gatewayConfigMap('media', 'gw-z', { secret: 'none', nodePortOnly: false });
          api.upsert('configmaps', cm);
        } else if (s.includes('media/gw-z')) ac.abort();
      },
      err: () => {},
      signal: ac.signal,
    });
    const timer = setTimeout(() => ac.abort(), 10_000);
    expect(await done).toBe(0);
    clearTimeout(timer);
    expect(outs.length).toBeGreaterThanOrEqual(2);
    expect(outs.at(-1)).toContain('"gateway": "media/gw-z"');
    api.remove('configmaps', 'media', 'gw-z-config');
  });
});
