/**
 * Every tool on the repository's own dist/, whose eu-west/turn-tls.k8s.yaml (charts-ts/
 * turn-tls-chart.ts) renders a TURN-TLS listener with its certificate from cert-manager (issue 27).
 *
 * stunnerctl config, graph and auth read the committed files as they are, without network;
 * icetest -f and turncat file:// read them too, and fail only where the cluster is missing (its
 * load balancer's address). Then the committed gateway runs as its pod runs it, on a loopback
 * address (harness.ts), with a self-signed certificate for the Certificate's DNS names standing in
 * for cert-manager's Secret, and icetest -f and turncat file:// relay through it over TURN-UDP and
 * TURN-TLS. What the cluster provides is swapped in its config for a loopback stand-in, nothing
 * else (onLoopback).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Manifest } from '../../constructs/helpers.js';
import { loadChartFile } from '../../helpers/chart-file.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/net.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { UdpPeer } from '../../helpers/turn-client.js';
import { ctl, icetest, startPod, stopPods, turncatEcho, turncatProcess } from './harness.js';

const DIST = join(import.meta.dirname, '..', '..', '..', 'dist');
const FILE = 'eu-west/turn-tls.k8s.yaml';
const GATEWAY = 'turn-tls/tls-gateway';
/** The chart's credentials Secret (created out of band). */
const AUTH_SECRET = 'stunner-auth';
const USER = { username: 'alice', password: 'wonderland-7f3k-q9' };
/** The cluster's: its load balancer's address (charts-ts/clusters.ts), the media servers' Service. */
const PUBLIC_ADDRESS = '198.51.100.10';
/** A loopback address nothing listens on, standing in for the absent cluster's load balancer. */
const NO_CLUSTER = '127.0.0.77';
const MEDIA_SERVERS = 'media-server.media.svc.cluster.local:<10000-20000>';

const pem = (b64: string) => Buffer.from(b64, 'base64').toString();

let root: string;
let committed: Manifest[];
/** The Certificate cert-manager would issue: its Secret's name and its DNS names. */
let certificate: { secretName: string; dnsNames: string[] };
let tls: { cert: string; key: string };
let authFile: string;
let tlsFile: string;
let caFile: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'committed-tls-'));
  // with the runtime its pods mount, from its namespace's runtime file next to it
  committed = loadChartFile(join(DIST, FILE));
  certificate = committed.find((o) => o.kind === 'Certificate')!.spec;
  tls = await selfSignedCert('ec', certificate.dnsNames[0], certificate.dnsNames);
  authFile = join(root, 'auth.yaml');
  await writeFile(
    authFile,
    `apiVersion: v1\nkind: Secret\nmetadata: { name: ${AUTH_SECRET}, namespace: turn-tls }\nstringData: { username: ${USER.username}, password: ${USER.password} }\n`,
  );
  tlsFile = join(root, 'tls.yaml');
  await writeFile(
    tlsFile,
    `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: { name: ${certificate.secretName}, namespace: turn-tls }\ndata:\n  tls.crt: ${tls.cert}\n  tls.key: ${tls.key}\n`,
  );
  caFile = join(root, 'ca.pem');
  await writeFile(caFile, pem(tls.cert));
}, 30_000);

afterAll(async () => {
  await stopPods();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the tools on the committed dist/ and its TURN-TLS gateway, without network', () => {
  it('the committed gateway has a TURN-TLS listener whose certificate cert-manager issues', () => {
    const config = JSON.parse(
      committed.find((o) => o.kind === 'ConfigMap' && o.data?.['stunnerd.conf'])!.data['stunnerd.conf'],
    );
    expect(
      config.listeners.map((l: { protocol: string; port: number }) => `${l.protocol}:${l.port}`),
    ).toEqual(['TURN-UDP:3478', 'TURN-TLS:443']);
    expect(config.listeners[1]).not.toHaveProperty('cert');
    expect(certificate).toMatchObject({
      secretName: 'tls-gateway-tls-listener-tls',
      dnsNames: ['turn.example.org'],
      issuerRef: { kind: 'ClusterIssuer', name: 'letsencrypt-prod' },
    });
  });

  it('config reads every gateway of dist/; the TLS one gets its certificate from --secret-file', async () => {
    const all = await ctl('config', '-f', DIST);
    expect(all.err).toBe('');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^gateway eu-west\/turn-tls\/tls-gateway /m);
    expect(all.out).toMatch(/^gateway eu-west\/stunner\/udp-gateway /m);
    expect(all.out).toContain(
      `listener tls-listener: TURN-TLS port 443, public ${PUBLIC_ADDRESS}:443 (config)`,
    );

    const filled = await ctl('config', GATEWAY, '-f', DIST, '-o', 'json', '--secret-file', tlsFile);
    expect(filled.err).toBe('');
    expect(filled.code).toBe(0);
    const [view] = JSON.parse(filled.out) as { config: { listeners: { cert?: string; key?: string }[] } }[];
    expect(view!.config.listeners[1]!.cert).toBe(tls.cert);
    expect(view!.config.listeners[1]!.key).toBe('<redacted>');
  });

  it('graph draws the TLS listener', async () => {
    const r = await ctl('graph', '-f', join(DIST, FILE));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tls-listener TURN-TLS:443 @ ${PUBLIC_ADDRESS}:443`);
    expect(r.out).toContain('route turn-tls/media-plane');
  });

  it('auth answers a turns: URI for the TLS listener', async () => {
    const r = await ctl('auth', GATEWAY, '-f', DIST, '--secret-file', authFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { ice } = JSON.parse(r.out) as { ice: { iceServers: { urls: string[] }[] } };
    expect(ice.iceServers[0]!.urls).toEqual([
      `turn:${PUBLIC_ADDRESS}:3478?transport=udp`,
      `turns:${PUBLIC_ADDRESS}:443?transport=tcp`,
    ]);
  });

  it('icetest -f and turncat file:// take the committed file, and fail only at the unreachable load balancer', async () => {
    // Tests send only to loopback: the committed file, with its load balancer's address swapped
    // for a loopback address nothing listens on.
    const dir = join(root, 'no-cluster');
    await mkdir(join(dir, 'eu-west'), { recursive: true });
    const file = join(dir, FILE);
    await writeFile(file, (await readFile(join(DIST, FILE), 'utf8')).replaceAll(PUBLIC_ADDRESS, NO_CLUSTER));
    for (const listener of ['udp-listener', 'tls-listener']) {
      const r = await icetest(
        GATEWAY,
        '-f',
        dir,
        '--listener',
        listener,
        '--secret-file',
        authFile,
        '--peer',
        'udp://127.0.0.1:9',
        '--timeout',
        '300',
        '-n',
        '1',
      );
      expect(r.out + r.err).not.toContain('invalid dataplane config');
      expect(r.out, r.err).toMatch(
        new RegExp(`^FAIL ${GATEWAY}/${listener} TURN-(UDP|TLS) ${NO_CLUSTER}:(3478|443): unreachable`),
      );
      expect(r.code).toBe(1);

      const t = await turncatEcho(
        'unsent',
        '--timeout',
        '300',
        '--secret-file',
        authFile,
        '-',
        `file://${file}#${listener}`,
        'udp://127.0.0.1:9',
      );
      expect(t.err).toMatch(new RegExp(`^turncat: ${NO_CLUSTER}:(3478|443)/(udp|tls) is unreachable`));
      expect(t.err).not.toContain('invalid dataplane config');
      expect(t.code).toBe(1);
    }
  });
});

describe('the committed TURN-TLS gateway running, the tools relaying through it', () => {
  let peer: UdpPeer;
  let podIP: string;
  let dist: string;
  const peerUri = () => `udp://127.0.0.1:${peer.address.port}`;

  beforeAll(async () => {
    peer = await UdpPeer.open(true);
    // A loopback address of its own, so that its health and metrics ports collide with nothing.
    podIP = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const objects = onLoopback(committed, {
      podIP,
      udp: await freeUdpPort(podIP),
      tls: await freeTcpPort(podIP),
      peer: `127.0.0.1:<${peer.address.port}-${peer.address.port}>`,
    });
    dist = join(root, 'dist');
    await mkdir(join(dist, 'eu-west'), { recursive: true });
    await writeFile(join(dist, FILE), objects.map((o) => stringify(o)).join('---\n'));
    await startPod(objects, 'tls-gateway', {
      dir: await mkdtemp(join(root, 'pod-')),
      podIP,
      secrets: {
        [AUTH_SECRET]: USER,
        [certificate.secretName]: { 'tls.crt': pem(tls.cert), 'tls.key': pem(tls.key) },
      },
    });
  }, 60_000);

  afterAll(() => peer?.close());

  it('icetest -f relays over TURN-UDP, and over TURN-TLS when named', async () => {
    const base = [GATEWAY, '-f', dist, '--peer', peerUri(), '--secret-file', authFile, '-n', '5'];
    const udp = await icetest(...base);
    expect(udp.err).toBe('');
    expect(udp.out).toMatch(new RegExp(`^PASS ${GATEWAY}/udp-listener TURN-UDP `));
    expect(udp.code).toBe(0);
    const overTls = await icetest(...base, '--listener', 'tls-listener', '--insecure');
    expect(overTls.out).toMatch(new RegExp(`^PASS ${GATEWAY}/tls-listener TURN-TLS .*: sent 5 received 5`));
    expect(overTls.code).toBe(0);
  });

  it('turncat file:// relays over TURN-UDP and TURN-TLS', async () => {
    for (const listener of ['udp-listener', 'tls-listener']) {
      const r = await turncatEcho(
        `over ${listener}`,
        '--insecure',
        '--secret-file',
        authFile,
        '-',
        `file://${join(dist, FILE)}#${listener}`,
        peerUri(),
      );
      expect(r.err, listener).toBe('');
      expect(r.code, listener).toBe(0);
    }
  });

  it("turncat verifies the certificate against the Certificate's DNS name (--sni), its CA trusted", async () => {
    const r = await turncatProcess(
      'verified',
      [
        '--sni',
        certificate.dnsNames[0]!,
        '--secret-file',
        authFile,
        '-',
        `file://${join(dist, FILE)}#tls-listener`,
        peerUri(),
      ],
      { NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);
});

/**
 * The committed manifests with what the cluster provides swapped, in the dataplane config only,
 * for its loopback stand-in: the load balancer's address (the listeners' public address), the
 * pod's own network namespace (free ports instead of 3478 and 443, which the pod may bind by its
 * sysctl and this machine may not; the health and metrics ports on the pod's address only, not on
 * every address of this machine), and cluster DNS (the media servers' Service name, the echo
 * peer). Throws when the config no longer holds what it swaps.
 */
function onLoopback(
  objects: Manifest[],
  o: { podIP: string; udp: number; tls: number; peer: string },
): Manifest[] {
  return objects.map((obj) => {
    const text = obj.kind === 'ConfigMap' ? obj.data?.['stunnerd.conf'] : undefined;
    if (text === undefined) return obj;
    const config = JSON.parse(text);
    // the pod's own ports, `http://:8086` and `http://:8080/metrics`: on the pod's address only
    for (const k of ['healthcheck_endpoint', 'metrics_endpoint'])
      config.admin[k] = config.admin[k].replace('http://:', `http://${o.podIP}:`);
    for (const l of config.listeners) {
      if (l.public_address !== PUBLIC_ADDRESS)
        throw new Error(`${l.name}: public address ${l.public_address}`);
      l.port = l.public_port = l.protocol === 'TURN-TLS' ? o.tls : o.udp;
      l.public_address = o.podIP;
    }
    for (const c of config.clusters) {
      if (!c.endpoints.includes(MEDIA_SERVERS)) throw new Error(`${c.name}: no ${MEDIA_SERVERS}`);
      c.endpoints = c.endpoints.map((e: string) => (e === MEDIA_SERVERS ? o.peer : e));
    }
    return { ...obj, data: { ...obj.data, 'stunnerd.conf': JSON.stringify(config, null, 2) } };
  });
}
