/**
 * Every tool pointed at a dist/ with a TURN-TLS listener (issue 27): the dist/ is synthesized here
 * from the public constructs (tls-dist.ts), both gateways run as their pods run them (the pod
 * reproduced on loopback, with a self-signed certificate standing in for cert-manager's Secret),
 * and stunnerctl config, graph, auth, icetest (-f, and -c as the smoke-test Job runs it) and
 * turncat file:// read it and relay through it. The plain gateway beside the TLS one reads and
 * relays as it does alone.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readGatewayConfigs, tlsMaterialMissing } from '../../../tools/sources/index.js';
import { loadChartFile } from '../../helpers/chart-file.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/net.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { UdpPeer } from '../../helpers/turn-client.js';
import { ctl, icetest, startPod as runPod, stopPods, turncatEcho, turncatProcess } from './harness.js';
import { AUTH_SECRET, synthTlsDist, TLS_SECRET, type TlsDistPorts } from './tls-dist.js';

const USER = { username: 'alice', password: 'wonderland-7f3k-q9' };

let root: string;
let dist: string;
let plainOnly: string;
let ports: TlsDistPorts;
let peer: UdpPeer;
let tls: { cert: string; key: string };
/** The credentials Secret, no namespace: both gateways' (they name the same). */
let authFile: string;
/** The kubernetes.io/tls Secret cert-manager would write. */
let tlsFile: string;
/** The self-signed certificate as PEM, to trust it (NODE_EXTRA_CA_CERTS). */
let caFile: string;

const pem = (b64: string) => Buffer.from(b64, 'base64').toString();
const peerUri = () => `udp://127.0.0.1:${ports.peer}`;

/** Runs a gateway's Deployment of `file` as the pod runs it: its bootstrap injects the Secrets at start. */
async function startPod(file: string, deployment: string): Promise<void> {
  // with the runtime its pods mount, from its namespace's runtime file next to it
  const objects = loadChartFile(join(dist, file));
  await runPod(objects, deployment, {
    dir: await mkdtemp(join(root, `pod-${deployment}-`)),
    podIP: '127.0.0.1',
    secrets: {
      [AUTH_SECRET]: USER,
      [TLS_SECRET]: { 'tls.crt': pem(tls.cert), 'tls.key': pem(tls.key) },
    },
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tls-dist-'));
  dist = join(root, 'dist');
  plainOnly = join(root, 'plain-only');
  peer = await UdpPeer.open(true);
  ports = {
    udp: await freeUdpPort(),
    tls: await freeTcpPort(),
    plain: await freeUdpPort(),
    tlsHealth: await freeTcpPort(),
    plainHealth: await freeTcpPort(),
    peer: peer.address.port,
  };
  synthTlsDist(dist, ports);
  synthTlsDist(plainOnly, ports, false);
  tls = await selfSignedCert();
  authFile = join(root, 'auth.yaml');
  await writeFile(
    authFile,
    `apiVersion: v1\nkind: Secret\nmetadata: { name: ${AUTH_SECRET} }\nstringData: { username: ${USER.username}, password: ${USER.password} }\n`,
  );
  tlsFile = join(root, 'tls.yaml');
  await writeFile(
    tlsFile,
    `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: { name: ${TLS_SECRET}, namespace: stunner }\ndata:\n  tls.crt: ${tls.cert}\n  tls.key: ${tls.key}\n`,
  );
  caFile = join(root, 'ca.pem');
  await writeFile(caFile, pem(tls.cert));
  await startPod('tls.k8s.yaml', 'tls-gateway');
  await startPod('plain.k8s.yaml', 'udp-gateway');
}, 90_000);

afterAll(async () => {
  await stopPods();
  peer?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A gateway's part of an output, with the dist/ directory's path written as `<dist>`. */
function neutral(text: string, dir: string): string {
  return text.replaceAll(dir, '<dist>');
}

describe('the tools on a dist/ with a TURN-TLS listener', () => {
  it('config reads every gateway; the TLS listener needs no certificate, and gets it from --secret-file', async () => {
    const r = await ctl('config', '-f', dist);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^gateway plain\/udp-gateway /m);
    expect(r.out).toContain(
      `listener tls-listener: TURN-TLS port ${ports.tls}, public 127.0.0.1:${ports.tls} (config)`,
    );

    const bare = await ctl('config', 'stunner/tls-gateway', '-f', dist, '-o', 'json');
    expect(bare.code).toBe(0);
    const [noCert] = JSON.parse(bare.out) as { config: { listeners: { cert?: string; key?: string }[] } }[];
    expect(noCert!.config.listeners[1]).not.toHaveProperty('cert');
    expect(noCert!.config.listeners[1]).not.toHaveProperty('key');

    const filled = await ctl(
      'config',
      'stunner/tls-gateway',
      '-f',
      dist,
      '-o',
      'json',
      '--secret-file',
      tlsFile,
    );
    expect(filled.code).toBe(0);
    const [withCert] = JSON.parse(filled.out) as {
      config: { listeners: { cert?: string; key?: string }[] };
    }[];
    expect(withCert!.config.listeners[1]!.cert).toBe(tls.cert);
    expect(withCert!.config.listeners[1]!.key).toBe('<redacted>');
    expect(filled.out).not.toContain(tls.key);
    const shown = await ctl(
      'config',
      'stunner/tls-gateway',
      '-f',
      dist,
      '-o',
      'json',
      '--show-secrets',
      '--secret-file',
      tlsFile,
    );
    expect(shown.out).toContain(tls.key);
  });

  it('the sources say where the certificate comes from, and name a missing one for a TLS server only', async () => {
    const views = await readGatewayConfigs({ kind: 'files', paths: [dist], secretFiles: [authFile] });
    const gw = views.find((v) => v.name === 'tls-gateway')!;
    const plain = views.find((v) => v.name === 'udp-gateway')!;
    expect(gw.listeners.map((l) => l.tls)).toEqual([undefined, { kind: 'secret', secret: TLS_SECRET }]);
    expect(tlsMaterialMissing(gw)).toBe(
      `gateway stunner/tls-gateway: listener tls-listener: its certificate and key are injected at start from Secret ${TLS_SECRET} (kubernetes.io/tls); pass that Secret with --secret-file`,
    );
    expect(tlsMaterialMissing(plain)).toBeUndefined();

    const filled = await readGatewayConfigs({
      kind: 'files',
      paths: [dist],
      secretFiles: [authFile, tlsFile],
    });
    const tlsGw = filled.find((v) => v.name === 'tls-gateway')!;
    expect(tlsGw.listeners[1]!.tls).toEqual({ kind: 'secret', secret: TLS_SECRET, readFrom: 'secret-file' });
    expect(tlsGw.config.listeners[1]).toMatchObject({ cert: tls.cert, key: tls.key });
    expect(tlsMaterialMissing(tlsGw)).toBeUndefined();
  });

  it('graph draws the TLS listener', async () => {
    const r = await ctl('graph', '-f', dist);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tls-listener TURN-TLS:${ports.tls} @ 127.0.0.1:${ports.tls}`);
  });

  it('auth answers a turns: URI for the TLS listener', async () => {
    const r = await ctl('auth', 'stunner/tls-gateway', '-f', dist, '--secret-file', authFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { ice } = JSON.parse(r.out) as { ice: { iceServers: { urls: string[] }[] } };
    expect(ice.iceServers[0]!.urls).toEqual([
      `turn:127.0.0.1:${ports.udp}?transport=udp`,
      `turns:127.0.0.1:${ports.tls}?transport=tcp`,
    ]);
  });

  it('icetest -f relays over the TURN-UDP listener, and over the TURN-TLS one when named', async () => {
    const base = [
      'stunner/tls-gateway',
      '-f',
      dist,
      '--peer',
      peerUri(),
      '--secret-file',
      authFile,
      '-n',
      '5',
    ];
    const udp = await icetest(...base);
    expect(udp.err).toBe('');
    expect(udp.out).toMatch(/^PASS stunner\/tls-gateway\/udp-listener TURN-UDP /);
    expect(udp.out).not.toContain('tls-listener');
    expect(udp.code).toBe(0);

    const overTls = await icetest(...base, '--listener', 'tls-listener', '--insecure');
    expect(overTls.out).toMatch(
      /^PASS stunner\/tls-gateway\/tls-listener TURN-TLS 127\.0\.0\.1:\d+: sent 5 received 5/,
    );
    expect(overTls.code).toBe(0);

    // Without trust in the self-signed certificate: the TLS step fails, and says why.
    const untrusted = await icetest(...base, '--listener', 'tls-listener');
    expect(untrusted.out).toMatch(
      /^FAIL stunner\/tls-gateway\/tls-listener TURN-TLS .*: unreachable: .*certificate/,
    );
    expect(untrusted.code).toBe(1);
  });

  it('icetest -c, as the smoke-test Job runs it, reads the config without the TLS keys it never mounts', async () => {
    const objects = parseAllDocuments(await readFile(join(dist, 'tls.k8s.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    const conf = join(root, 'stunnerd.conf');
    await writeFile(
      conf,
      objects.find((o) => o.kind === 'ConfigMap' && o.data?.['stunnerd.conf']).data['stunnerd.conf'],
    );
    const r = await icetest(
      '-c',
      conf,
      '--address',
      '127.0.0.1',
      '--peer',
      peerUri(),
      '--secret-file',
      authFile,
      '-n',
      '5',
    );
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^PASS stunner\/tls-gateway\/udp-listener TURN-UDP /);
    expect(r.code).toBe(0);
  });

  it('turncat file://<dist YAML>#<listener> relays over TURN-TLS (--insecure) and TURN-UDP', async () => {
    const file = join(dist, 'tls.k8s.yaml');
    const overTls = await turncatEcho(
      'over tls',
      '--insecure',
      '--secret-file',
      authFile,
      '-',
      `file://${file}#tls-listener`,
      peerUri(),
    );
    expect(overTls.err).toBe('');
    expect(overTls.code).toBe(0);
    const overUdp = await turncatEcho(
      'over udp',
      '--secret-file',
      authFile,
      '-',
      `file://${file}#udp-listener`,
      peerUri(),
    );
    expect(overUdp.err).toBe('');
    expect(overUdp.code).toBe(0);
  });

  it('turncat verifies the certificate when its CA is trusted (NODE_EXTRA_CA_CERTS), no --insecure', async () => {
    const r = await turncatProcess(
      'verified',
      ['--secret-file', authFile, '-', `file://${join(dist, 'tls.k8s.yaml')}#tls-listener`, peerUri()],
      { NODE_EXTRA_CA_CERTS: caFile },
    );
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
  }, 30_000);
});

describe('a plain gateway beside a TLS one', () => {
  const plain = 'plain/udp-gateway';

  it('config, graph and auth print what they print for it alone', async () => {
    for (const argv of [
      ['config', plain],
      ['config', plain, '-o', 'json'],
      ['graph', plain],
      ['auth', plain, '--secret-file', authFile],
    ]) {
      const beside = await ctl(...argv, '-f', dist);
      const alone = await ctl(...argv, '-f', plainOnly);
      expect(beside.code, argv.join(' ')).toBe(0);
      expect(beside.err).toBe('');
      expect(neutral(beside.out, dist)).toBe(neutral(alone.out, plainOnly));
    }
  });

  it('icetest -f and turncat relay through it', async () => {
    const r = await icetest(plain, '-f', dist, '--peer', peerUri(), '--secret-file', authFile, '-n', '5');
    expect(r.out).toMatch(/^PASS plain\/udp-gateway\/udp-listener TURN-UDP /);
    expect(r.code).toBe(0);
    const t = await turncatEcho(
      'plain',
      '--secret-file',
      authFile,
      '-',
      `file://${join(dist, 'plain.k8s.yaml')}#udp-listener`,
      peerUri(),
    );
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
  });
});
