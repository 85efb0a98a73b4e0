/**
 * End to end, from the committed YAML: take dist/eu-west/ as committed, extract a gateway's ConfigMaps
 * (dataplane config + bundled runtime), run the bundle exactly as the pod would (same command,
 * args, env and volume layout; the pod IP is a loopback address), and relay real traffic through
 * it with coturn's turnutils_uclient to a turnutils_peer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POD_NODE } from '../../bench/pod-node.js';
import type { Manifest } from '../constructs/helpers.js';
import { loadChartFile } from '../helpers/chart-file.js';
import { freeUdpPort } from '../helpers/net.js';
import { materializePod, type Sandbox } from '../helpers/pod-sandbox.js';
import { runUclient, startPeer } from '../helpers/uclient.js';
import { until } from '../helpers/wait.js';

// The charts of cluster eu-west (the multi-cluster layout: dist/<cluster>/<chart>.k8s.yaml), each
// with its namespace's runtime file (dist/<cluster>/stunnerd-runtime-<namespace>.k8s.yaml).
const DIST = join(import.meta.dirname, '..', '..', 'dist', 'eu-west');
const objects = loadChartFile(join(DIST, 'direct-call.k8s.yaml'));
const SECRET = randomBytes(24).toString('base64url');

// A loopback address of our own per pod, so that the committed ports (3478, 8086, 8080) cannot
// collide with anything else on this machine.
function loopback(): string {
  return `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
}

interface RunningPod {
  readonly ip: string;
  readonly sandbox: Sandbox;
  readonly child: ChildProcess;
  readonly output: () => string;
}

const running: RunningPod[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of running) await stopPod(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Kills a pod and waits until it is gone, so that the next one can bind the same ports. */
async function stopPod(p: RunningPod | undefined): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGKILL');
  await gone;
}

async function startPod(
  deployment: string,
  manifests: Manifest[] = objects,
  secrets: Record<string, Record<string, string>> = { 'stunner-auth-secret': { secret: SECRET } },
): Promise<RunningPod> {
  const ip = loopback();
  const dir = mkdtempSync(join(tmpdir(), `e2e-${deployment}-`));
  dirs.push(dir);
  // The one thing dist/ does not hold: the credentials Secret (created out of band, or by the
  // external-secrets operator from the committed ExternalSecret).
  const sandbox = materializePod(manifests, deployment, {
    dir,
    podIP: ip,
    secrets,
  });
  const child = spawn(sandbox.command, sandbox.args, {
    cwd: sandbox.cwd,
    env: { PATH: process.env['PATH'] ?? '', ...sandbox.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const pod = { ip, sandbox, child, output: () => out };
  running.push(pod);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${deployment} not ready in 20 s:\n${out}`)), 20_000);
    const check = () => {
      if (out.includes('stunnerd ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${deployment} exited with ${code}:\n${out}`));
    });
  });
  return pod;
}

async function withPeer<T>(ip: string, fn: (port: number) => Promise<T>): Promise<T> {
  const peer = await startPeer(await freeUdpPort(ip), ip);
  try {
    return await fn(peer.port);
  } finally {
    peer.stop();
  }
}

/**
 * coturn's client, TURN REST API credentials from the shared `secret`, 20 messages to the peer over
 * channels (ChannelBind, ChannelData: what browsers use), RTP and RTCP sessions per client.
 */
function uclient(
  server: string,
  port: number,
  peerIp: string,
  peerPort: number,
  extra: string[] = [],
  secret = SECRET,
) {
  return runUclient(
    [
      '-W',
      secret,
      '-u',
      'alice',
      '-e',
      peerIp,
      '-r',
      String(peerPort),
      '-n',
      '20',
      '-m',
      '1',
      '-l',
      '120',
      '-z',
      '5',
      '-p',
      String(port),
      ...extra,
      server,
    ],
    15_000,
  );
}

describe('committed dist/eu-west/media-gateway.k8s.yaml, run as its pod would run', () => {
  const media = loadChartFile(join(DIST, 'media-gateway.k8s.yaml'));
  const PASSWORD = randomBytes(18).toString('base64url');
  let pod: RunningPod;
  beforeAll(async () => {
    pod = await startPod('udp-gateway', media, {
      'stunner-auth': { username: 'media-user', password: PASSWORD },
    });
  });
  afterAll(() => stopPod(pod));

  /** coturn's client with the static user and `password`, Send indications to a peer on the pod. */
  const attempt = (password: string, messages = 5) =>
    withPeer(pod.ip, (peerPort) =>
      runUclient(
        [
          ...['-s', '-u', 'media-user', '-w', password, '-n', String(messages), '-m', '1', '-p', '3478'],
          ...['-e', pod.ip, '-r', String(peerPort), pod.ip],
        ],
        10_000,
      ),
    );

  it('authenticates static credentials from the Secret, and relays only to the routed media Service', async () => {
    // The route admits only media-server.media.svc (unresolvable here): even the pod's own
    // address is outside the perimeter, so the permission is refused after a good allocation.
    expect((await attempt(PASSWORD)).output).toMatch(/create permission error 403/);
    const bad = await attempt('wrong-password');
    expect(bad.output).toMatch(/Cannot complete Allocation/);
    expect(bad.output).not.toMatch(/create permission/);
  });

  it('follows a password change in the mounted Secret without a restart', async () => {
    const NEW = randomBytes(18).toString('base64url');
    // The kubelet updates a Secret volume in place; the bootstrap re-assembles the config and
    // the runtime hot-reloads it.
    writeFileSync(join(pod.sandbox.mounts['secrets']!, 'auth', 'password'), NEW);
    // An allocation that reaches CreatePermission (refused: no route) was authenticated.
    await until(
      'the new password to authenticate',
      async () => /create permission error 403/.test((await attempt(NEW, 2)).output),
      10_000,
    );
    expect((await attempt(PASSWORD, 2)).output).toMatch(/Cannot complete Allocation/);
    expect(pod.child.exitCode).toBeNull();
  });
});

// One pod at a time: health and metrics bind every address of the pod (here: of this machine).
describe('committed dist/eu-west/direct-call.k8s.yaml: the TURN-UDP gateway pod', () => {
  let udp: RunningPod;
  beforeAll(async () => {
    udp = await startPod('udp-gateway');
  });
  afterAll(() => stopPod(udp));

  it('listens where the committed config says, on the pod address', () => {
    expect(udp.output()).toContain(`${udp.ip}:3478`);
  });

  it("runs on the pod image's Node.js release, with the batched UDP I/O module the bundle carries inline", () => {
    expect(udp.sandbox.command).toBe(POD_NODE);
    expect(udp.output()).toContain('UDP batch I/O on (recvmmsg batches');
  });

  it('answers the Deployment probes on the health port', async () => {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'udp-gateway');
    const c = d.spec.template.spec.containers[0];
    const port = c.ports.find(
      (p: { name?: string }) => p.name === c.readinessProbe.httpGet.port,
    ).containerPort;
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      const res = await fetch(`http://${udp.ip}:${port}${probe.httpGet.path}`);
      expect(res.status, probe.httpGet.path).toBe(200);
    }
  });

  it('serves Prometheus metrics on the metrics port the PodMonitor scrapes', async () => {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'udp-gateway');
    const port = d.spec.template.spec.containers[0].ports.find(
      (p: { name?: string }) => p.name === 'metrics',
    );
    const res = await fetch(`http://${udp.ip}:${port.containerPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^stunner_allocations_active/m);
  });

  it('relays TURN-UDP traffic between a client and a peer on the gateway pod (headless route)', async () => {
    const r = await withPeer(udp.ip, (peerPort) => uclient(udp.ip, 3478, udp.ip, peerPort));
    expect(r.output).toMatch(/Total lost packets 0 \(/);
    expect({ sent: r.sent, received: r.received }).toEqual({ sent: 40, received: 40 });
  });

  it('refuses a peer outside the routes (deny by default)', async () => {
    const outside = loopback();
    const r = await withPeer(outside, (peerPort) => uclient(udp.ip, 3478, outside, peerPort));
    expect(r.output).toMatch(/channel bind: error 403/);
    expect(r.received ?? 0).toBe(0);
    expect(udp.output()).toMatch(/permission denied|no route/i);
  });

  it('refuses a client without the shared secret', async () => {
    const r = await withPeer(udp.ip, (peerPort) =>
      uclient(udp.ip, 3478, udp.ip, peerPort, [], 'not-the-secret'),
    );
    expect(r.output).toMatch(/Cannot complete Allocation/);
    expect(r.received ?? 0).toBe(0);
  });
});

describe('committed dist/eu-west/direct-call.k8s.yaml: the TURN-TCP gateway pod', () => {
  let tcp: RunningPod;
  beforeAll(async () => {
    tcp = await startPod('tcp-gateway');
  });
  afterAll(() => stopPod(tcp));

  it('listens where the committed config says, on the pod address', () => {
    expect(tcp.output()).toContain(`${tcp.ip}:3478`);
  });

  it('relays TURN-TCP traffic through the TCP gateway', async () => {
    const r = await withPeer(tcp.ip, (peerPort) => uclient(tcp.ip, 3478, tcp.ip, peerPort, ['-t']));
    expect(r.output).toMatch(/Total lost packets 0 \(/);
    expect({ sent: r.sent, received: r.received }).toEqual({ sent: 40, received: 40 });
  });

  it('stops cleanly on SIGTERM once no allocation is left', async () => {
    const exited = new Promise<number | null>((resolve) => tcp.child.once('exit', (code) => resolve(code)));
    tcp.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
