/**
 * The IceAuthService pod, reproduced on this machine: its synthesized volumes (runtime bundle
 * ConfigMap, projected gateway configs and credentials Secrets) are written under a temporary
 * working directory, and its exact command runs there with stock Node.js. Then /ice must answer
 * with the gateway's public address and credentials minted from the gateway's shared secret.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chart, Testing } from 'cdk8s';
import { afterEach, describe, expect, it } from 'vitest';
import { POD_NODE } from '../../../bench/pod-node.js';
import { IceAuthService, MediaRoute, StunnerGateway, TurnAuth } from '../../../constructs/index.js';
import { DEFAULT_REALM } from '../../../contract/defaults.js';
import { synthWithRuntime, validateManifest } from '../../constructs/helpers.js';
import { loadChartFile } from '../../helpers/chart-file.js';
import { freeTcpPort } from '../../helpers/net.js';
import { type AuthPod, materializeAuthPod } from './auth-pod.js';
import { expectMintedNow, expectRelayAccepts } from './rest-credential.js';

type Obj = { kind: string; metadata: { name: string }; [k: string]: any };

let child: ChildProcess | undefined;
let work: string | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  if (work) await rm(work, { recursive: true, force: true });
  work = undefined;
});

const SECRET = 'a-long-shared-secret-for-the-pod-test-0123456789';

/** Runs the pod's command on a free port (plus `extra` flags) until it is ready; its port and log. */
async function runAuthPod(p: AuthPod, extra: string[]): Promise<{ port: number; out: () => string }> {
  const port = await freeTcpPort();
  const args = p.args.map((a, i) => (p.args[i - 1] === '--port' ? String(port) : a));
  let out = '';
  const c = spawn(p.command, [...args, '--address', '127.0.0.1', ...extra], {
    cwd: p.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] },
  });
  child = c;
  c.stdout!.on('data', (d) => (out += d));
  c.stderr!.on('data', (d) => (out += d));
  const end = Date.now() + 20_000;
  while (!out.includes('stunnerd auth ready') && Date.now() < end && c.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(out).toContain('stunnerd auth ready');
  return { port, out: () => out };
}

function synth(auth: Partial<ConstructorParameters<typeof IceAuthService>[2]> = {}): Obj[] {
  const chart = new Chart(Testing.app(), 'pod', { namespace: 'stunner' });
  const udp = new StunnerGateway(chart, 'udp-gateway', {
    auth: TurnAuth.inlineEphemeral(SECRET),
    publicAddress: '203.0.113.10',
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
  });
  const tcp = new StunnerGateway(chart, 'tcp-gateway', {
    auth: TurnAuth.inline('alice', 'a-strong-password-0123456789'),
    publicAddress: '203.0.113.11',
    listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port: 443 }],
  });
  // A headless route puts `$STUNNER_ADDR` endpoints into the configs: the auth pod must cope.
  new MediaRoute(chart, 'headless', { parents: [udp, tcp], headless: true });
  new IceAuthService(chart, 'auth', { gateways: [udp, tcp], watchServices: false, ...auth });
  return synthWithRuntime(chart) as Obj[];
}

describe('IceAuthService pod, reproduced locally', () => {
  it('synthesizes valid objects whose command serves /ice for every gateway', async () => {
    const objs = synth();
    for (const o of objs.filter((x) => x.metadata.name === 'stunner-auth')) validateManifest(o);
    work = await mkdtemp(join(tmpdir(), 'ice-pod-'));
    const p = await materializeAuthPod(objs, 'stunner-auth', work);
    // the stock image's node, run here as the same Node.js release
    expect(p.command).toBe(POD_NODE);
    const { port, out } = await runAuthPod(p, []);

    const res = await fetch(`http://127.0.0.1:${port}/ice?service=turn&username=pod&ttl=300`);
    const body = (await res.json()) as {
      iceServers: { urls: string[]; username: string; credential: string }[];
    };
    expect(res.status, `${JSON.stringify(body)}\n${out()}`).toBe(200);
    // In the order of the gateways given to the construct.
    expect(body.iceServers.map((s) => s.urls)).toEqual([
      ['turn:203.0.113.10:3478?transport=udp'],
      ['turn:203.0.113.11:443?transport=tcp'],
    ]);
    const [udp, tcp] = body.iceServers;
    expect(tcp).toMatchObject({ username: 'alice', credential: 'a-strong-password-0123456789' });
    expectMintedNow(udp!, { secret: SECRET, user: 'pod', ttl: 300 });
    const realm = DEFAULT_REALM; // the gateways' (no realm given)
    expectRelayAccepts(udp!, { type: 'ephemeral', realm, credentials: { secret: SECRET } }, Date.now());
    const alice = { username: 'alice', password: 'a-strong-password-0123456789' };
    expectRelayAccepts(tcp!, { type: 'static', realm, credentials: alice }, Date.now());
  });
});

describe('IceAuthService pod with an API key, a public address and JSON logs', () => {
  it('requires the key, answers with the configured address and logs JSON lines', async () => {
    const objs = synth({ apiKeySecret: 'ice-api-key', publicAddress: 'turn.example.com', logFormat: 'json' });
    work = await mkdtemp(join(tmpdir(), 'ice-key-pod-'));
    const apiKey = `key-${Math.random().toString(36).slice(2)}`;
    const p = await materializeAuthPod(objs, 'stunner-auth', work, { 'ice-api-key': { key: apiKey } });
    const env = Object.fromEntries(
      (
        objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'stunner-auth')!.spec.template.spec
          .containers[0].env ?? []
      ).map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const port = await freeTcpPort();
    const args = p.args.map((a, i) => (p.args[i - 1] === '--port' ? String(port) : a));
    let out = '';
    let logs = '';
    const c = spawn(p.command, [...args, '--address', '127.0.0.1'], {
      cwd: p.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'], ...env },
    });
    child = c;
    c.stdout!.on('data', (d) => {
      out += d;
      logs += d;
    });
    c.stderr!.on('data', (d) => (out += d));
    const end = Date.now() + 20_000;
    while (!out.includes('ready') && Date.now() < end && c.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    const ice = (key?: string) =>
      fetch(`http://127.0.0.1:${port}/ice?service=turn&username=pod${key ? `&key=${key}` : ''}`);
    expect((await ice()).status, out).toBe(401);
    expect((await ice('wrong')).status, out).toBe(401);
    const ok = await ice(apiKey);
    expect(ok.status, out).toBe(200);
    const body = (await ok.json()) as { iceServers: { urls: string[] }[] };
    expect(body.iceServers.flatMap((s) => s.urls)).toEqual([
      'turn:turn.example.com:3478?transport=udp',
      'turn:turn.example.com:443?transport=tcp',
    ]);
    // The service's own log lines (stdout) are JSON.
    const lines = logs
      .trim()
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
  });
});

describe('IceAuthService pod of the committed dist/eu-west/direct-call.k8s.yaml', () => {
  it('loads both gateway configs with the out-of-band Secret and mints from its shared secret', async () => {
    // with the runtime its pods mount, from the namespace's runtime file next to it
    const objs = loadChartFile(
      fileURLToPath(new URL('../../../dist/eu-west/direct-call.k8s.yaml', import.meta.url)),
    );
    const deploy = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'stunner-auth');
    expect(deploy, 'dist/eu-west/direct-call.k8s.yaml has the stunner-auth Deployment').toBeDefined();
    work = await mkdtemp(join(tmpdir(), 'ice-dist-pod-'));
    const secret = `dist-secret-${Math.random().toString(36).slice(2)}`;
    const p = await materializeAuthPod(objs, 'stunner-auth', work, { 'stunner-auth-secret': { secret } });
    // No Kubernetes API here: the Service watch keeps retrying, and the address comes from the flag.
    const { port, out } = await runAuthPod(p, ['--public-address', 'direct-call/udp-gateway=198.51.100.7']);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status, out()).toBe(200);

    const udp = await fetch(
      `http://127.0.0.1:${port}/ice?service=turn&namespace=direct-call&gateway=udp-gateway`,
    );
    const body = (await udp.json()) as {
      iceServers: { urls: string[]; username: string; credential: string }[];
    };
    expect(udp.status, `${JSON.stringify(body)}\n${out()}`).toBe(200);
    expect(body.iceServers).toHaveLength(1);
    const s = body.iceServers[0]!;
    expect(s.urls).toEqual(['turn:198.51.100.7:3478?transport=udp']);
    expectMintedNow(s, { secret, user: '', ttl: 86400 });
    expectRelayAccepts(s, { type: 'ephemeral', realm: DEFAULT_REALM, credentials: { secret } }, Date.now());

    // The TCP gateway has no address yet (no load balancer here): a 404 that says so.
    const tcp = await fetch(
      `http://127.0.0.1:${port}/ice?service=turn&namespace=direct-call&gateway=tcp-gateway`,
    );
    expect(tcp.status).toBe(404);
    expect(((await tcp.json()) as { message: string }).message).toMatch(/no public address is known yet/);
  });
});
