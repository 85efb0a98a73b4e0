/**
 * Every HTTP or WebSocket server the package ships, run as its pod runs it (a fresh synth of the
 * layout, test/helpers/fresh-layout.ts, so the current sources), against hostile clients:
 *
 *   - the ICE auth service (`stunnerd auth`, DirectCall's pod: the same code in every chart);
 *   - the direct-call signaling server (HTTP and its WebSocket `/ws`);
 *   - the Janus echo page server and its `/janus` proxy (to a stand-in Janus here);
 *   - the mediasoup landing server;
 *   - the cloudretro-ice sidecar's status server.
 * The udp-greeter serves no HTTP (it is a UDP echo: test/demo-servers/hostile.test.ts).
 *
 * Probes: malformed request lines, protocol-violating WebSocket frames and upgrades, oversized
 * headers and bodies, bad JSON (in bodies and in WebSocket messages), a slowloris of 1,100
 * half-sent requests from one IP (more than any connection limit we set), and 300 concurrent
 * requests from one IP. After each, the process must be alive and its health endpoint must
 * answer 200 within 1 s, asked from another address (the kubelet's). The last tests show that
 * the check goes red on a stopped server and on a hung one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanUpPods,
  cloudretroSidecarAsPod,
  loopback,
  type RunningPod,
  startAuthPod,
  startPod,
} from '../helpers/demo-pods.js';
import { cleanUpFreshLayout, freshChart } from '../helpers/fresh-layout.js';
import { K8sApiDouble, service } from '../helpers/k8s-api-double.js';
import { freeTcpPort } from '../helpers/net.js';
import {
  assertUp,
  BAD_JSON,
  badFrames,
  badJsonPosts,
  badUpgrades,
  concurrentGets,
  exchange,
  frame,
  inBatches,
  malformedRequests,
  open,
  oversizedBodies,
  oversizedHeaders,
  slowloris,
  type Target,
  upgrade,
} from './http-probes.js';

/** The attacker's address: one IP for every probe. */
const ATTACKER = loopback();
const SLOW_CLIENTS = 1100;
const CONCURRENT = 300;
const SECRETS = { 'stunner-auth-secret': { secret: randomBytes(24).toString('base64url') } };

const api = new K8sApiDouble();
const work = mkdtempSync(join(tmpdir(), 'http-robustness-'));
let janus: Server | undefined;
let ice: Server | undefined;
const targets = new Map<string, Target | Error>();
/** What the probes measured, for docs/SECURITY.md. */
const figures: string[] = [];

function target(
  name: string,
  pod: RunningPod,
  port: number,
  o: Omit<Target, 'name' | 'host' | 'port' | 'alive'>,
): Target {
  const alive = () => pod.child.exitCode === null && pod.child.signalCode === null;
  return { name, host: pod.ip, port, alive, ...o };
}

/** A stand-in for Janus's HTTP API: a small JSON answer to anything. */
async function startJanus(): Promise<string> {
  janus = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"janus":"success","transaction":"x"}');
    });
  });
  return `${await listen(janus)}/janus`;
}

/**
 * A stand-in ICE auth service for the demo servers (the real one is a target of its own): a
 * relay-only configuration, so that their credential paths run too.
 */
async function startIce(): Promise<string> {
  ice = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        iceServers: [
          {
            urls: ['turn:198.51.100.1:3478?transport=udp'],
            username: `${Math.floor(Date.now() / 1000) + 3600}:u`,
            credential: 'c',
          },
        ],
        iceTransportPolicy: 'relay',
      }),
    );
  });
  return listen(ice);
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return `http://127.0.0.1:${a.port}`;
}

/** Starts a target; a target that cannot start fails its own tests, not the others'. */
async function start(name: string, f: () => Promise<Target>): Promise<void> {
  try {
    targets.set(name, await f());
  } catch (e) {
    targets.set(name, e as Error);
  }
}

beforeAll(async () => {
  await api.start();
  api.upsert(
    'services',
    service('direct-call', 'udp-gateway', {
      type: 'LoadBalancer',
      clusterIP: '10.0.0.1',
      ingress: [{ ip: '198.51.100.1' }],
    }),
  );
  const token = join(work, 'token');
  writeFileSync(token, api.token);
  await start('ICE auth service', async () => {
    const auth = await startAuthPod(freshChart('eu-west', 'direct-call'), 'stunner-auth', {
      secrets: SECRETS,
      extraArgs: ['--kube-api-server', api.url, '--kube-token-file', token],
      ready: 'stunnerd auth ready',
    });
    return target('ICE auth service', auth, 8088, { health: '/live', paths: ['/ice', '/', '/live'] });
  });

  const authUrl = await startIce();
  const web = async (chart: string, deployment: string, ready: string, env: Record<string, string> = {}) => {
    const port = await freeTcpPort();
    const pod = await startPod(freshChart('eu-west', chart), deployment, {
      env: { PORT: String(port), STUNNER_AUTH_URL: authUrl, ...env },
      ready,
    });
    return { pod, port };
  };
  await start('direct-call', async () => {
    const { pod, port } = await web('direct-call', 'direct-call', 'direct-call server ready');
    return target('direct-call', pod, port, { health: '/live', paths: ['/', '/ws', '/live'], ws: '/ws' });
  });
  await start('janus-echo', async () => {
    const { pod, port } = await web('janus', 'janus-echo', 'janus-echo page server ready', {
      JANUS_URL: await startJanus(),
    });
    return target('janus-echo', pod, port, {
      health: '/live',
      paths: ['/', '/config', '/janus', '/janus/1/2'],
    });
  });
  await start('mediasoup-landing', async () => {
    const { pod, port } = await web('mediasoup', 'mediasoup-landing', 'mediasoup-landing ready');
    return target('mediasoup-landing', pod, port, { health: '/live', paths: ['/', '/live'] });
  });
  await start('cloudretro-ice', async () => {
    const pod = await startPod(
      cloudretroSidecarAsPod(freshChart('eu-west', 'cloudretro')),
      'coordinator-deployment',
      {
        env: { CLOUDRETRO_ICE_SOURCES: JSON.stringify([{ url: authUrl }]) },
        // the secondary's API key, created out of band as the tutorial says
        secrets: { 'cloudretro-ice-api-key': { key: 'robustness-test-key' } },
        ready: 'cloudretro-ice ready',
      },
    );
    return target('cloudretro-ice', pod, 8090, {
      health: '/live',
      paths: ['/status', '/ready', '/coordinator'],
    });
  });
}, 90_000);

afterAll(async () => {
  await cleanUpPods();
  await api.stop();
  for (const s of [janus, ice]) if (s) await new Promise((r) => s.close(r));
  cleanUpFreshLayout();
  rmSync(work, { recursive: true, force: true });
  console.log(`http-robustness figures:\n  ${figures.join('\n  ')}`);
});

const NAMES = ['ICE auth service', 'direct-call', 'janus-echo', 'mediasoup-landing', 'cloudretro-ice'];
const t = (name: string): Target => {
  const x = targets.get(name);
  if (x === undefined || x instanceof Error)
    throw new Error(`${name} did not start: ${x?.message ?? 'not started'}`);
  return x;
};

describe.each(NAMES)('%s', (name) => {
  it('survives malformed request lines', async () => {
    await inBatches(malformedRequests(t(name)), 100, (r) =>
      exchange(t(name), r, { from: ATTACKER, ms: 1000 }),
    );
    await assertUp(t(name));
  });

  it('survives oversized headers and bodies', async () => {
    const heads = await inBatches(oversizedHeaders(t(name)), 10, (r) =>
      exchange(t(name), r, { from: ATTACKER, ms: 1000 }),
    );
    // refused (431 or 400), or the connection closed: never a 200 for 64 KiB of headers
    for (const h of heads) expect(h.text.startsWith('HTTP/1.1 200')).toBe(false);
    await assertUp(t(name));
    await inBatches(oversizedBodies(t(name), 2 * 1024 * 1024), 16, (r) =>
      exchange(t(name), r, { from: ATTACKER, ms: 1000 }),
    );
    await assertUp(t(name));
  });

  it('survives bad JSON', async () => {
    await inBatches(badJsonPosts(t(name)), 50, (r) => exchange(t(name), r, { from: ATTACKER, ms: 1000 }));
    await assertUp(t(name));
    const ws = t(name).ws;
    if (ws === undefined) return;
    // every message on one connection, and each on its own
    await exchange(t(name), [upgrade(t(name), ws), ...BAD_JSON.map((b) => frame(1, b))], {
      from: ATTACKER,
      ms: 1500,
    });
    await assertUp(t(name));
    await inBatches(BAD_JSON, 20, (b) =>
      exchange(t(name), [upgrade(t(name), ws), frame(1, b)], { from: ATTACKER, ms: 1000 }),
    );
    await assertUp(t(name));
  });

  it('survives protocol-violating WebSocket upgrades and frames', async () => {
    const ws = t(name).ws ?? '/';
    await inBatches(badUpgrades(t(name), ws), 10, (r) => exchange(t(name), r, { from: ATTACKER, ms: 1000 }));
    await assertUp(t(name));
    if (t(name).ws === undefined) return;
    const first = await exchange(t(name), upgrade(t(name), ws), { from: ATTACKER, ms: 500 });
    expect(first.text).toMatch(/^HTTP\/1\.1 101 /);
    for (const f of badFrames()) {
      const r = await exchange(t(name), [upgrade(t(name), ws), f.bytes], { from: ATTACKER, ms: 1000 });
      // the server closes the connection (RFC 6455 section 7.1.7) and lives on
      expect(r.closed, f.what).toBe(true);
      await assertUp(t(name)).catch((e: Error) => {
        throw new Error(`after ${f.what}: ${e.message}`);
      });
    }
  });

  it(`answers its health endpoint within 1 s while ${SLOW_CLIENTS} half-sent requests from one IP are held`, async () => {
    const s = await slowloris(t(name), SLOW_CLIENTS, ATTACKER);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const ms = await assertUp(t(name));
      figures.push(
        `${name}: slowloris ${SLOW_CLIENTS} from one IP: ${s.opened} accepted, ${s.stillOpen()} held after 0.5 s; /live from another IP in ${ms} ms`,
      );
    } finally {
      s.stop();
    }
  }, 20_000);

  it(`answers its health endpoint within 1 s during ${CONCURRENT} concurrent requests from one IP`, async () => {
    const [statuses, ms] = await Promise.all([
      concurrentGets(t(name), CONCURRENT, ATTACKER, t(name).paths[0]!),
      new Promise((r) => setTimeout(r, 50)).then(() => assertUp(t(name))),
    ]);
    await assertUp(t(name));
    const answered = statuses.filter((x) => x !== 0).length;
    figures.push(
      `${name}: ${CONCURRENT} concurrent requests from one IP: ${answered} answered; /live from another IP in ${ms} ms`,
    );
  }, 20_000);
});

describe('the demo servers bound connections per IP', () => {
  it.each(['direct-call', 'janus-echo', 'mediasoup-landing', 'cloudretro-ice'])(
    '%s holds at most 256 connections from one IP',
    async (name) => {
      const s = await slowloris(t(name), 300, ATTACKER);
      try {
        await new Promise((r) => setTimeout(r, 300));
        expect(s.stillOpen()).toBeLessThanOrEqual(256);
        await assertUp(t(name));
      } finally {
        s.stop();
      }
    },
  );
});

describe('the check goes red', () => {
  it('on a server stopped mid-suite', async () => {
    const port = await freeTcpPort();
    const pod = await startPod(freshChart('eu-west', 'mediasoup'), 'mediasoup-landing', {
      env: { PORT: String(port), STUNNER_AUTH_URL: 'http://127.0.0.1:9' },
      ready: 'mediasoup-landing ready',
    });
    const spare = target('spare landing', pod, port, { health: '/live', paths: ['/'] });
    await assertUp(spare);
    await pod.stop();
    await expect(assertUp(spare)).rejects.toThrow(/spare landing is down: its process exited/);
    // the health check alone, for a server that died while its process object lingers
    await expect(assertUp({ ...spare, alive: () => true })).rejects.toThrow(
      /spare landing is down: GET \/live/,
    );
  });

  it('on a server whose process lives but that answers nothing', async () => {
    const hung = netServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as { port: number }).port;
    try {
      const ok = await open(
        { name: 'hung', host: '127.0.0.1', port, health: '/live', paths: [], alive: () => true },
        ATTACKER,
      );
      expect(ok).toBeDefined();
      ok?.destroy();
      await expect(
        assertUp({ name: 'hung', host: '127.0.0.1', port, health: '/live', paths: [], alive: () => true }),
      ).rejects.toThrow(/hung is down: GET \/live: no answer within 1000 ms/);
    } finally {
      hung.close();
    }
  });
});
