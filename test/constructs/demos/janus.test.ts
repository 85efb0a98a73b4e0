/**
 * JanusDemo, from the committed dist/eu-west/janus.k8s.yaml: Janus's pod (Debian's `janus` with
 * the committed config files), the gateway's pod, the ICE auth service's pod and the page
 * server's pod run as the cluster would run them. Chromium, relay-only, sends its fake camera to
 * Janus's echo test through the gateway and decodes it back. With a route that does not admit
 * Janus's RTP range, the same run fails and the gateway logs the denied peer.
 *
 * Janus gathers its candidates on `eth0`, as in a pod: here that is this machine's eth0 address,
 * which the gateway's route resolves the Janus pods to. The gateway's pod IP is that address too
 * (Janus's ICE agent ignores remote candidates on loopback addresses, which the other pods use).
 *
 * The gateway drops datagrams to a port outside the route silently (per datagram, no log line):
 * the denied peer is logged when the permission itself is refused, i.e. when the route's range is
 * not on Janus's pods at all.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
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
import { until } from '../../helpers/wait.js';
import type { Manifest } from '../helpers.js';

const NS = 'janus';
const objects = loadDist('janus.k8s.yaml');
const SECRETS = { 'stunner-auth-secret': { secret: randomBytes(24).toString('base64url') } };
const FRAMES = 25;
// Janus ignores loopback candidates, so Janus and the gateway use this machine's own (non-loopback)
// address; the traffic stays on this machine.
const JANUS_IP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
const IP = { gateway: JANUS_IP ?? loopback(), auth: loopback(), page: loopback() };
const HOSTS = {
  [svc('stunner-auth', NS)]: IP.auth,
  [svc('udp-gateway', NS)]: IP.gateway,
  [svc('janus', NS)]: JANUS_IP ?? '',
  [svc('janus-media', NS)]: JANUS_IP ?? '',
};

interface EchoState {
  state: string;
  message: string;
  framesDecoded: number;
  pair: {
    local: { type: string; address: string; relayProtocol?: string };
    remote: { type: string; address: string; port: number };
  } | null;
}

/** The committed objects with the route's port range moved off Janus's RTP range. */
function withRouteRange(range: string): Manifest[] {
  return objects.map((o) => {
    if (o.kind !== 'ConfigMap' || o.metadata.name !== 'udp-gateway-config') return o;
    const config = JSON.parse(o.data['stunnerd.conf']);
    for (const c of config.clusters)
      c.endpoints = c.endpoints.map((e: string) => e.replace(/<\d+-\d+>$/, `<${range}>`));
    return { ...o, data: { ...o.data, 'stunnerd.conf': JSON.stringify(config) } };
  });
}

const api = new K8sApiDouble();
const work = mkdtempSync(join(tmpdir(), 'janus-demo-'));
let browser: Browser;
let janus: RunningPod;

/** One echo test in a fresh browser context: waits until it echoes enough video, or gives up. */
async function echo(ms: number): Promise<EchoState> {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(`http://${IP.page}:8000/`);
    await page.click('#start');
    const end = Date.now() + ms;
    for (;;) {
      const d = await page.evaluate(() => (globalThis as unknown as { demo: EchoState }).demo);
      if (
        (d.state === 'echoing' && d.framesDecoded >= FRAMES && d.pair) ||
        d.state === 'failed' ||
        Date.now() > end
      )
        return d;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await ctx.close();
  }
}

const mapHosts = canMapHosts();

describe('JanusDemo: the committed YAML, run as its pods, Janus echo test relay-only', () => {
  beforeAll(async () => {
    // A missing capability fails the run: a skipped check would pass for nothing.
    if (!mapHosts)
      throw new Error(
        'these tests give each pod its cluster DNS names through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
      );
    if (JANUS_IP === undefined)
      throw new Error('Janus ignores loopback candidates, and this machine has no other IPv4 address');
    await api.start();
    api.upsert(
      'services',
      service(NS, 'udp-gateway', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.1',
        ingress: [{ ip: IP.gateway }],
      }),
    );
    const token = join(work, 'token');
    writeFileSync(token, api.token);
    janus = await startPod(objects, 'janus', { ip: JANUS_IP!, ready: 'HTTP webserver started' });
    await startAuthPod(objects, 'stunner-auth', {
      ip: IP.auth,
      secrets: SECRETS,
      extraArgs: ['--kube-api-server', api.url, '--kube-token-file', token],
      ready: 'stunnerd auth ready',
    });
    await startPod(objects, 'janus-echo', {
      ip: IP.page,
      hosts: HOSTS,
      ready: 'janus-echo page server ready',
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
    await browser?.close().catch(() => {});
    await cleanUpPods();
    await api.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("Janus's RTP range is set, and the route admits exactly that range on the Janus pods", () => {
    const janusConfig = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'janus-config');
    expect(janusConfig.data['janus.jcfg']).toContain('rtp_port_range = "20000-20099"');
    const gw = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'udp-gateway-config');
    expect(JSON.parse(gw.data['stunnerd.conf']).clusters).toEqual([
      {
        name: `${NS}/janus-media`,
        type: 'STRICT_DNS',
        protocol: 'UDP',
        endpoints: [`${svc('janus-media', NS)}:<20000-20099>`],
      },
    ]);
  });

  it('chromium echoes its video through the gateway: relay to Janus, frames decoded', async () => {
    const gateway = await startPod(objects, 'udp-gateway', {
      ip: IP.gateway,
      secrets: SECRETS,
      hosts: HOSTS,
      ready: 'stunnerd ready',
    });
    try {
      const d = await echo(20_000);
      const why = `${JSON.stringify(d)}\n${gateway.output()}\n${janus.output()}`;
      expect(d.state, why).toBe('echoing');
      expect(d.framesDecoded, why).toBeGreaterThanOrEqual(FRAMES);
      expect(d.pair?.local.type, why).toBe('relay');
      expect(d.pair?.local.address, why).toBe(IP.gateway);
      expect(d.pair?.remote.address, why).toBe(JANUS_IP);
      expect(d.pair?.remote.port, why).toBeGreaterThanOrEqual(20000);
      expect(d.pair?.remote.port, why).toBeLessThanOrEqual(20099);
    } finally {
      await gateway.stop();
    }
  }, 45_000);

  it('fails with a route that admits another port range on the Janus pods: its datagrams are dropped', async () => {
    const gateway = await startPod(withRouteRange('30000-30099'), 'udp-gateway', {
      ip: IP.gateway,
      secrets: SECRETS,
      hosts: HOSTS,
      ready: 'stunnerd ready',
    });
    try {
      const d = await echo(6_000);
      expect(d.state === 'echoing' || d.framesDecoded > 0, JSON.stringify(d)).toBe(false);
    } finally {
      await gateway.stop();
    }
  }, 30_000);

  it('fails with a route whose range is on other pods, and the gateway logs Janus as the denied peer', async () => {
    const gateway = await startPod(objects, 'udp-gateway', {
      ip: IP.gateway,
      secrets: SECRETS,
      // the route's Service resolves to pods that are not Janus's
      hosts: { ...HOSTS, [svc('janus-media', NS)]: loopback() },
      ready: 'stunnerd ready',
    });
    try {
      const d = await echo(6_000);
      expect(d.state === 'echoing' || d.framesDecoded > 0, JSON.stringify(d)).toBe(false);
      const denied = new RegExp(`permission denied .* to peer ${JANUS_IP!.replaceAll('.', '\\.')}:200\\d\\d`);
      await until('the denied Janus peer in the gateway log', () => denied.test(gateway.output()), 3000);
    } finally {
      await gateway.stop();
    }
  }, 30_000);
});
