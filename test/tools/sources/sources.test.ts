import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCredentials, readGatewayConfigs, SourceError } from '../../../tools/sources/index.js';
import { K8sApiDouble, node, service } from '../../helpers/k8s-api-double.js';
import { gatewayConfigMap, gatewayPod, kubeconfigFor } from './cluster-fixtures.js';

describe('gateway sources: synthesized YAML', () => {
  it('reads every gateway of dist/, its cluster directory, public address and credential origin', async () => {
    const views = await readGatewayConfigs({ kind: 'files', paths: ['dist'] });
    expect(views.map((v) => `${v.cluster} ${v.namespace}/${v.name}`)).toEqual([
      'eu-west cloudretro/udp-gateway',
      'eu-west direct-call/tcp-gateway',
      'eu-west direct-call/udp-gateway',
      'eu-west janus/udp-gateway',
      'eu-west mediasoup/udp-gateway',
      'eu-west simple-tunnel/udp-gateway',
      'eu-west stunner/udp-gateway',
      'eu-west turn-tls/tls-gateway',
      'us-east cloudretro/udp-gateway',
      'us-east stunner/udp-gateway',
    ]);
    const at = (id: string) => views.find((v) => `${v.cluster} ${v.namespace}/${v.name}` === id)!;
    const eu = at('eu-west stunner/udp-gateway');
    expect(eu.listeners[0]!.public).toEqual({ address: '198.51.100.10', port: 3478, source: 'config' });
    expect(describeCredentials(eu)).toBe('from Secret stunner-auth (from ExternalSecret stunner-auth)');
    const tcp = at('eu-west direct-call/tcp-gateway');
    expect(describeCredentials(tcp)).toBe('from Secret stunner-auth-secret');
    expect(tcp.listeners[0]!.pending).toMatch(/load balancer/);
    expect(tcp.config.listeners[0]!.address).toBe('$STUNNER_ADDR');
    expect(tcp.service?.type).toBe('LoadBalancer');
  });

  it('fills credentials from --secret-file and says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sources-'));
    const file = join(dir, 'secret.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Secret\nmetadata: {name: stunner-auth, namespace: stunner}\nstringData: {username: alice, password: s3cr3t-pass}\n',
    );
    try {
      const views = await readGatewayConfigs({
        kind: 'files',
        paths: ['dist/us-east/media-gateway.k8s.yaml'],
        secretFiles: [file],
      });
      expect(views).toHaveLength(1);
      expect(views[0]!.config.auth.credentials).toEqual({ username: 'alice', password: 's3cr3t-pass' });
      expect(describeCredentials(views[0]!)).toMatch(/read from --secret-file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a bare dataplane config file, and names a missing path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sources-'));
    const file = join(dir, 'stunnerd.yaml');
    await writeFile(
      file,
      'version: v1\nadmin: {name: ns1/gw1}\nauth: {type: static, credentials: {username: u, password: p}}\nlisteners: [{name: ns1/gw1/l1, address: 10.0.0.1, port: 3478, routes: []}]\n',
    );
    try {
      const [v] = await readGatewayConfigs({ kind: 'files', paths: [file] });
      expect(`${v!.namespace}/${v!.name}`).toBe('ns1/gw1');
      expect(v!.credentials).toEqual({ kind: 'inline' });
      await expect(readGatewayConfigs({ kind: 'files', paths: [join(dir, 'nope')] })).rejects.toThrow(
        SourceError,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('gateway sources: a live cluster (Kubernetes API test double)', () => {
  const api = new K8sApiDouble();
  let dir = '';
  let kubeconfig = '';
  beforeAll(async () => {
    await api.start();
    dir = await mkdtemp(join(tmpdir(), 'sources-kc-'));
    kubeconfig = join(dir, 'config');
    await writeFile(kubeconfig, kubeconfigFor(api));
    api.upsert('configmaps', gatewayConfigMap('media', 'gw-a', { secret: 'gw-a-auth', nodePortOnly: false }));
    api.upsert('configmaps', gatewayConfigMap('media', 'gw-b', { secret: 'gw-b-auth', nodePortOnly: true }));
    // an unrelated ConfigMap without the gateway labels is not read
    api.upsert('configmaps', {
      metadata: { name: 'other', namespace: 'media' },
      data: { 'stunnerd.conf': '{}' },
    });
    api.upsert(
      'services',
      service('media', 'gw-a', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        ports: [{ name: 'udp', port: 3478, protocol: 'UDP', nodePort: 31000 }],
        ingress: [{ ip: '198.51.100.77' }],
      }),
    );
    api.upsert(
      'services',
      service('media', 'gw-b', {
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        ports: [{ name: 'udp', port: 3478, protocol: 'UDP', nodePort: 31001 }],
      }),
    );
    api.upsert('secrets', {
      metadata: { name: 'gw-a-auth', namespace: 'media' },
      data: {
        username: Buffer.from('bob').toString('base64'),
        password: Buffer.from('pw-from-cluster').toString('base64'),
      },
    });
    api.upsert('pods', gatewayPod('media', 'gw-b', 'gw-b-1', '10.244.0.5', 'node-1'));
    api.upsert('nodes', node('node-1', [{ type: 'ExternalIP', address: '203.0.113.50' }]));
  });
  afterAll(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads labelled ConfigMaps, Service status, Secrets and pods', async () => {
    const views = await readGatewayConfigs({ kind: 'cluster', kubeconfig });
    expect(views.map((v) => `${v.namespace}/${v.name}`)).toEqual(['media/gw-a', 'media/gw-b']);
    const [a, b] = views;
    expect(a!.cluster).toBe('double');
    expect(a!.listeners[0]!.public).toEqual({ address: '198.51.100.77', port: 3478, source: 'LoadBalancer' });
    expect(a!.config.auth.credentials).toEqual({ username: 'bob', password: 'pw-from-cluster' });
    expect(describeCredentials(a!)).toBe('from Secret gw-a-auth (read from the cluster)');
    expect(b!.listeners[0]!.public).toEqual({ address: '203.0.113.50', port: 31001, source: 'NodePort' });
    expect(describeCredentials(b!)).toMatch(/^from Secret gw-b-auth \(not readable: not found/);
    expect(b!.pods).toEqual([
      expect.objectContaining({
        name: 'gw-b-1',
        ip: '10.244.0.5',
        ready: true,
        healthUrl: 'http://10.244.0.5:8086',
      }),
    ]);
    expect(api.requests.some((r) => r.includes('labelSelector='))).toBe(true);
  });

  it('reads a TLS gateway without its key: cert/key from --secret-file only, never the cluster', async () => {
    const cm = gatewayConfigMap('tls', 'gw-t', {
      secret: 'gw-t-auth',
      nodePortOnly: false,
      tlsSecret: 'gw-t-tls',
    });
    const tlsSecret = {
      metadata: { name: 'gw-t-tls', namespace: 'tls' },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from('CRT').toString('base64'),
        'tls.key': Buffer.from('KEY').toString('base64'),
      },
    };
    api.upsert('configmaps', cm);
    api.upsert('secrets', tlsSecret);
    const file = join(dir, 'tls-secret.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: gw-t-tls, namespace: tls}\nstringData: {tls.crt: "-----BEGIN CERTIFICATE-----", tls.key: "-----BEGIN PRIVATE KEY-----"}\n',
    );
    try {
      const [t] = await readGatewayConfigs({ kind: 'cluster', kubeconfig, namespace: 'tls' });
      expect(t!.config.listeners[1]!.cert).toBeUndefined();
      expect(t!.listeners[1]!.tls).toEqual({ kind: 'secret', secret: 'gw-t-tls' });
      // The credentials Secret is read (not found here); the TLS one is not.
      expect(api.requests.some((r) => r.includes('/secrets/gw-t-auth'))).toBe(true);
      expect(api.requests.some((r) => r.includes('/secrets/gw-t-tls'))).toBe(false);
      const [f] = await readGatewayConfigs({
        kind: 'cluster',
        kubeconfig,
        namespace: 'tls',
        secretFiles: [file],
      });
      expect(f!.listeners[1]!.tls).toEqual({ kind: 'secret', secret: 'gw-t-tls', readFrom: 'secret-file' });
      expect(Buffer.from(f!.config.listeners[1]!.key!, 'base64').toString()).toBe(
        '-----BEGIN PRIVATE KEY-----',
      );
    } finally {
      api.remove('configmaps', 'tls', 'gw-t-config');
      api.remove('secrets', 'tls', 'gw-t-tls');
    }
  });

  it('names an unknown context and an unreachable API in one line', async () => {
    await expect(readGatewayConfigs({ kind: 'cluster', kubeconfig, context: 'nope' })).rejects.toThrow(
      'kubeconfig has no context "nope"',
    );
    api.forbidden.add('configmaps');
    try {
      await expect(readGatewayConfigs({ kind: 'cluster', kubeconfig })).rejects.toThrow(/forbidden/);
    } finally {
      api.forbidden.delete('configmaps');
    }
  });
});
