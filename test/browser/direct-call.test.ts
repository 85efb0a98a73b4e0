/**
 * The whole path, as a cluster would run it: a chart with a TURN-UDP and a TURN-TCP gateway, a
 * headless route and an IceAuthService is synthesized; the three pods are reproduced on this
 * machine from their manifests (same command, args, env, volume layout; the pod IP is a loopback
 * address of our own); chromium then calls itself relay-only with exactly the /ice answer of the
 * auth pod as its RTCPeerConnection configuration.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IceAuthService, MediaRoute, StunnerGateway, TurnAuth } from '../../constructs/index.js';
import { synthWithRuntime } from '../constructs/helpers.js';
import { materializePod } from '../helpers/pod-sandbox.js';
import { materializeAuthPod } from '../runtime/ice/auth-pod.js';
import { BrowserHarness } from './harness.js';

const SECRET = randomBytes(24).toString('base64url');
// Our own loopback addresses, so that the chart's fixed ports cannot collide with anything else.
const GATEWAY_IP = `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
const AUTH_IP = `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;

function synthChart() {
  const chart = new Chart(Testing.app(), 'direct-call', { namespace: 'direct-call' });
  const common = {
    auth: TurnAuth.inlineEphemeral(SECRET),
    publicAddress: GATEWAY_IP,
    metrics: false,
  };
  // Both gateway pods share one address here, as headless clients must reach each other's
  // relay addresses (in a cluster the route's Service names resolve to the other pods).
  const udp = new StunnerGateway(chart, 'udp-gateway', {
    ...common,
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
  });
  const tcp = new StunnerGateway(chart, 'tcp-gateway', {
    ...common,
    healthPort: 8087,
    listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port: 3478 }],
  });
  new MediaRoute(chart, 'stunner-headless', { parents: [udp, tcp], headless: true });
  new IceAuthService(chart, 'auth', { gateways: [udp, tcp], watchServices: false });
  return synthWithRuntime(chart);
}

interface Pod {
  readonly child: ChildProcess;
  output(): string;
}

const pods: Pod[] = [];
const dirs: string[] = [];
let harness: BrowserHarness;

async function run(
  name: string,
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  ready: string,
) {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const pod = { child, output: () => out };
  pods.push(pod);
  const end = Date.now() + 30_000;
  while (!out.includes(ready)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`${name} not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pod;
}

let gateways: Pod[] = [];

beforeAll(async () => {
  const objects = synthChart();
  for (const gw of ['udp-gateway', 'tcp-gateway']) {
    const dir = await mkdtemp(join(tmpdir(), `call-${gw}-`));
    dirs.push(dir);
    const s = materializePod(objects, gw, { dir, podIP: GATEWAY_IP });
    gateways.push(await run(gw, s.command, s.args, s.cwd, s.env, 'stunnerd ready'));
  }
  const dir = await mkdtemp(join(tmpdir(), 'call-auth-'));
  dirs.push(dir);
  const a = await materializeAuthPod(objects, 'stunner-auth', dir);
  await run('stunner-auth', a.command, [...a.args, '--address', AUTH_IP], a.cwd, {}, 'stunnerd auth ready');
  harness = new BrowserHarness();
  await harness.start();
}, 90_000);

afterAll(async () => {
  await harness?.stop();
  for (const p of pods) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const ice = async () => {
  const res = await fetch(`http://${AUTH_IP}:8088/ice?service=turn&username=alice&iceTransportPolicy=relay`);
  expect(res.status, `${await res.clone().text()}\n${pods.map((p) => p.output()).join('\n')}`).toBe(200);
  return (await res.json()) as {
    iceServers: { urls: string[]; username: string }[];
    iceTransportPolicy: string;
  };
};

describe('direct call through the synthesized pods', () => {
  it('the auth pod answers for both gateways with their public address', async () => {
    const answer = await ice();
    expect(answer.iceTransportPolicy).toBe('relay');
    expect(answer.iceServers.map((s) => s.urls)).toEqual([
      [`turn:${GATEWAY_IP}:3478?transport=udp`],
      [`turn:${GATEWAY_IP}:3478?transport=tcp`],
    ]);
    for (const s of answer.iceServers) expect(s.username).toMatch(/^\d+:alice$/);
  });

  it('chromium connects relay-only with exactly that answer: data channel, video, relay/relay', async () => {
    const r = await harness.call({ rtc: await ice(), video: true, timeoutMs: 20_000 });
    const why = `${JSON.stringify(r)}\n${gateways.map((g) => g.output()).join('\n')}`;
    expect(r.connected, why).toBe(true);
    expect(r.message, why).toMatch(/^hello through the relay/);
    expect(r.localCandidateType, why).toBe('relay');
    expect(r.remoteCandidateType, why).toBe('relay');
    expect(r.videoBytesReceived, why).toBeGreaterThan(0);
  });

  it('cannot connect once the gateway pods are gone', async () => {
    const answer = await ice();
    for (const g of gateways) {
      const exited = new Promise((r) => g.child.once('exit', r));
      g.child.kill('SIGKILL');
      await exited;
    }
    gateways = [];
    const r = await harness.call({ rtc: answer, video: false, timeoutMs: 5_000 });
    expect(r.connected).toBe(false);
  });
});
