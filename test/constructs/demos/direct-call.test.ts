/**
 * DirectOne2OneCall, from the committed dist/eu-west/direct-call.k8s.yaml: the gateway pods, the
 * ICE auth service's pod and the signaling server's pod run as the cluster would run them (the
 * auth service follows the gateways' load-balancer addresses through the Kubernetes API test
 * double). Two chromium pages, in separate browser contexts with fake cameras, register with the
 * server and call each other relay-only: once over TURN-UDP, once over TURN-TCP. Each sees the
 * other's video, through the gateway's pod; without a gateway, no call connects.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../../browser/harness.js';
import {
  canMapHosts,
  cleanUpPods,
  loadDist,
  loopback,
  type RunningPod,
  startAuthPod,
  startPod,
  svc,
} from '../../helpers/demo-pods.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';

const NS = 'direct-call';
const objects = loadDist('direct-call.k8s.yaml');
const SECRETS = { 'stunner-auth-secret': { secret: randomBytes(24).toString('base64url') } };
const IP = { udp: loopback(), tcp: loopback(), auth: loopback(), app: loopback() };
/** Enough frames to be video, not a keyframe: about a second of the fake camera. */
const FRAMES = 25;

/** The cluster DNS names the pods resolve. */
const HOSTS = {
  [svc('stunner-auth', NS)]: IP.auth,
  [svc('udp-gateway', NS)]: IP.udp,
  [svc('tcp-gateway', NS)]: IP.tcp,
};

interface DemoState {
  state: string;
  message: string;
  framesDecoded: number;
  pair: {
    local: { type: string; address: string; relayProtocol?: string };
    remote: { type: string; address: string };
  } | null;
  iceConfiguration: { iceServers: { urls: string[] }[]; iceTransportPolicy: string } | null;
}

const api = new K8sApiDouble();
const work = mkdtempSync(join(tmpdir(), 'direct-call-'));
let browser: Browser;
const contexts: BrowserContext[] = [];
let app: RunningPod;

async function page(): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  const p = await ctx.newPage();
  await p.goto(`http://${IP.app}:8000/`);
  return p;
}

const demo = (p: Page) => p.evaluate(() => (globalThis as unknown as { demo: DemoState }).demo);

async function waitFor(p: Page, what: string, ok: (d: DemoState) => boolean, ms: number): Promise<DemoState> {
  const end = Date.now() + ms;
  for (;;) {
    const d = await demo(p);
    if (ok(d)) return d;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function register(p: Page, name: string): Promise<DemoState> {
  await p.fill('#name', name);
  await p.click('#register');
  return waitFor(p, `${name} to register`, (d) => d.state === 'registered', 10_000);
}

/** alice calls bob, bob answers; both wait until the call is up and video is decoded. */
async function call(alice: Page, bob: Page, bobName: string): Promise<[DemoState, DemoState]> {
  await alice.fill('#peer', bobName);
  await alice.click('#call');
  await waitFor(bob, 'the incoming call', (d) => d.state === 'incoming call', 10_000);
  await bob.click('#answer');
  const video = (d: DemoState) => d.state === 'in call' && d.framesDecoded >= FRAMES && d.pair !== null;
  return [
    await waitFor(alice, 'video at alice', video, 15_000),
    await waitFor(bob, 'video at bob', video, 15_000),
  ];
}

async function gatewayPod(name: 'udp-gateway' | 'tcp-gateway', ip: string): Promise<RunningPod> {
  return startPod(objects, name, { ip, secrets: SECRETS, hosts: HOSTS, ready: 'stunnerd ready' });
}

const mapHosts = canMapHosts();

describe('DirectOne2OneCall: the committed YAML, run as its pods, two browsers', () => {
  beforeAll(async () => {
    // A missing capability fails the run: a skipped check would pass for nothing.
    if (!mapHosts)
      throw new Error(
        'these tests give each pod its cluster DNS names through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
      );
    await api.start();
    for (const [name, ip] of [
      ['udp-gateway', IP.udp],
      ['tcp-gateway', IP.tcp],
    ] as const)
      api.upsert(
        'services',
        service(NS, name, { type: 'LoadBalancer', clusterIP: '10.0.0.1', ingress: [{ ip }] }),
      );
    const token = join(work, 'token');
    writeFileSync(token, api.token);
    await startAuthPod(objects, 'stunner-auth', {
      ip: IP.auth,
      secrets: SECRETS,
      // In the cluster: the service account's token and the in-cluster API server.
      extraArgs: ['--kube-api-server', api.url, '--kube-token-file', token],
      ready: 'stunnerd auth ready',
    });
    app = await startPod(objects, 'direct-call', {
      ip: IP.app,
      hosts: HOSTS,
      ready: 'direct-call server ready',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
      ],
      timeout: 30_000,
    });
  }, 90_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await cleanUpPods();
    await api.stop();
    rmSync(work, { recursive: true, force: true });
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`two pages call each other relay-only over TURN-${transport.toUpperCase()}, each sees the other's video`, async () => {
      const gateway = await gatewayPod(`${transport}-gateway`, IP[transport]);
      try {
        const [alice, bob] = [await page(), await page()];
        const a = await register(alice, `alice-${transport}`);
        await register(bob, `bob-${transport}`);
        // registerResponse carries the auth service's relay-only answer for both gateways
        expect(a.iceConfiguration?.iceTransportPolicy).toBe('relay');
        expect(a.iceConfiguration?.iceServers.map((s) => s.urls)).toEqual([
          [`turn:${IP.udp}:3478?transport=udp`],
          [`turn:${IP.tcp}:3478?transport=tcp`],
        ]);
        const [x, y] = await call(alice, bob, `bob-${transport}`);
        const why = `${JSON.stringify([x, y])}\n${gateway.output()}\n${app.output()}`;
        for (const d of [x, y]) {
          // relay/relay, both relay addresses on the gateway's pod, over the transport of the run
          expect(d.pair?.local.type, why).toBe('relay');
          expect(d.pair?.remote.type, why).toBe('relay');
          expect(d.pair?.local.relayProtocol, why).toBe(transport);
          expect(d.pair?.local.address, why).toBe(IP[transport]);
          expect(d.pair?.remote.address, why).toBe(IP[transport]);
          expect(d.framesDecoded, why).toBeGreaterThanOrEqual(FRAMES);
        }
        await alice.click('#hangup');
        await waitFor(bob, 'the hang-up', (d) => d.state === 'registered', 5_000);
        expect(app.output()).toContain(`alice-${transport} hangs up on bob-${transport}`);
      } finally {
        await gateway.stop();
      }
    }, 60_000);
  }

  it('cannot connect a call once the gateways are gone', async () => {
    const [alice, bob] = [await page(), await page()];
    await register(alice, 'alice-none');
    await register(bob, 'bob-none');
    await alice.fill('#peer', 'bob-none');
    await alice.click('#call');
    await waitFor(bob, 'the incoming call', (d) => d.state === 'incoming call', 10_000);
    await bob.click('#answer');
    const connected = await waitFor(
      alice,
      'a call',
      (d) => d.state === 'in call' || d.framesDecoded > 0,
      6_000,
    ).then(
      () => true,
      () => false,
    );
    expect(connected).toBe(false);
    expect((await demo(bob)).framesDecoded).toBe(0);
  }, 30_000);
});
