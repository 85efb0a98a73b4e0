/**
 * The demo servers against hostile clients, one finding each, each server run as its pod runs it
 * (a fresh synth of the layout, so the current sources). The generic probes (malformed requests,
 * bad frames, slowloris...) against every server are test/security/http-robustness.test.ts; here
 * are the server-specific ones:
 *
 *   - direct-call: one name per socket, gone with the socket; a bound on registered names; only
 *     pages of its own origin (or ALLOWED_ORIGINS) may open the WebSocket; a page that does not
 *     read its messages cannot grow the server's memory;
 *   - janus-echo: request bodies and Janus's answers bounded in size and memory; no path outside
 *     `/janus` reachable;
 *   - udp-greeter: a datagram it cannot answer does not stop it.
 *
 * The ICE auth service and Janus are stand-ins in this process: their answers are what is tested.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanUpPods, loopback, type RunningPod, startPod } from '../helpers/demo-pods.js';
import { cleanUpFreshLayout, freshChart } from '../helpers/fresh-layout.js';
import { freeTcpPort, freeUdpPort } from '../helpers/net.js';

const servers: Server[] = [];
/** Paths the stand-in Janus was asked for. */
const janusAsked: string[] = [];
let iceUrl: string;
let janusUrl: string;

async function listen(s: Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

/** A stand-in ICE auth service: a relay-only configuration after 150 ms (registrations overlap). */
async function startIce(): Promise<string> {
  const port = await listen(
    createServer((req, res) => {
      const user = new URL(req.url ?? '/', 'http://x').searchParams.get('username') ?? 'u';
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            iceServers: [
              {
                urls: ['turn:198.51.100.1:3478?transport=udp'],
                username: `${Math.floor(Date.now() / 1000) + 3600}:${user}`,
                credential: 'c',
              },
            ],
            iceTransportPolicy: 'relay',
          }),
        );
      }, 150);
    }),
  );
  return `http://127.0.0.1:${port}`;
}

/** A stand-in Janus: `/janus/huge` answers 64 MiB, anything else a small JSON. */
async function startJanus(): Promise<string> {
  const port = await listen(
    createServer((req, res) => {
      janusAsked.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/janus/huge')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1024 * 1024, 0x20);
          let left = 64;
          const more = () => {
            while (left > 0) {
              left--;
              if (!res.write(chunk)) return void res.once('drain', more);
            }
            res.end();
          };
          res.on('error', () => {});
          more();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"janus":"success"}');
      });
    }),
  );
  return `http://127.0.0.1:${port}/janus`;
}

/** The peak resident memory of a process, in MiB (Linux). */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const alive = (p: RunningPod) => p.child.exitCode === null && p.child.signalCode === null;

beforeAll(async () => {
  iceUrl = await startIce();
  janusUrl = await startJanus();
}, 30_000);

afterAll(async () => {
  await cleanUpPods();
  for (const s of servers) s.close();
  cleanUpFreshLayout();
});

// ---- direct-call ----

describe('direct-call signaling server', () => {
  let pod: RunningPod;
  let port: number;
  const ALLOWED = 'https://call.example.com';

  beforeAll(async () => {
    port = await freeTcpPort();
    pod = await startPod(freshChart('eu-west', 'direct-call'), 'direct-call', {
      env: {
        PORT: String(port),
        STUNNER_AUTH_URL: iceUrl,
        ALLOWED_ORIGINS: `${ALLOWED}, http://other.example:8080/`,
      },
      ready: 'direct-call server ready',
    });
  }, 30_000);

  /** A page's WebSocket from `from`, with the server's own origin unless told otherwise. */
  function page(from = '127.0.0.1', origin: string | null = `http://${pod.ip}:${port}`): Promise<Page> {
    const ws = new WebSocket(`ws://${pod.ip}:${port}/ws`, {
      localAddress: from,
      ...(origin !== null ? { origin } : {}),
    });
    const got: Record<string, unknown>[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, got }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }
  interface Page {
    ws: WebSocket;
    got: Record<string, unknown>[];
  }
  const send = (p: Page, m: object) => p.ws.send(JSON.stringify(m));
  async function answers(p: Page, id: string, n: number, ms = 5000): Promise<Record<string, unknown>[]> {
    const end = Date.now() + ms;
    while (p.got.filter((m) => m['id'] === id).length < n) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${n} ${id}: ${JSON.stringify(p.got)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return p.got.filter((m) => m['id'] === id);
  }
  async function closed(p: Page): Promise<void> {
    if (p.ws.readyState === WebSocket.CLOSED) return;
    await new Promise((r) => {
      p.ws.once('close', r);
      p.ws.close();
    });
    await new Promise((r) => setTimeout(r, 100));
  }

  it('registers one name per socket, even when the second register comes before the first is answered', async () => {
    const a = await page();
    send(a, { id: 'register', name: 'first' });
    send(a, { id: 'register', name: 'second' });
    const [r1, r2] = await answers(a, 'registerResponse', 2);
    expect([r1?.['response'], r2?.['response']].sort()).toEqual(['accepted', 'rejected: already registered']);
    await closed(a);
    // both names are free again once the socket is gone
    for (const name of ['first', 'second']) {
      const b = await page();
      send(b, { id: 'register', name });
      const [r] = await answers(b, 'registerResponse', 1);
      expect(r?.['response'], name).toBe('accepted');
      await closed(b);
    }
    expect(alive(pod)).toBe(true);
  });

  it('registers at most 1,000 names at once', async () => {
    const pages: Page[] = [];
    try {
      // 4 addresses: one address holds at most 256 connections
      for (let i = 0; i < 1001; i += 100)
        pages.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(100, 1001 - i) }, (_, j) => page(`127.0.9.${1 + ((i + j) % 4)}`)),
          )),
        );
      for (const [i, p] of pages.entries()) send(p, { id: 'register', name: `user-${i}` });
      const responses = await Promise.all(pages.map((p) => answers(p, 'registerResponse', 1, 20_000)));
      const accepted = responses.filter(([r]) => r?.['response'] === 'accepted').length;
      expect(accepted).toBe(1000);
      expect(responses.map(([r]) => r?.['response'])).toContain('rejected: the server is full');
    } finally {
      for (const p of pages) p.ws.terminate();
    }
    await new Promise((r) => setTimeout(r, 300));
    // and the names went with their sockets
    const again = await page();
    send(again, { id: 'register', name: 'user-0' });
    expect((await answers(again, 'registerResponse', 1))[0]?.['response']).toBe('accepted');
    await closed(again);
  }, 60_000);

  it('accepts WebSockets from pages of its own origin and of ALLOWED_ORIGINS only', async () => {
    for (const origin of [`http://${pod.ip}:${port}`, ALLOWED, 'http://other.example:8080', null]) {
      const p = await page('127.0.0.1', origin);
      await closed(p);
    }
    for (const origin of [
      'http://evil.example',
      `http://${pod.ip}:${port + 1}`,
      'null',
      'file://',
      `ws://${pod.ip}:${port}`,
    ]) {
      await expect(page('127.0.0.1', origin), origin).rejects.toThrow(/refused: 401|refused: 403/);
    }
    expect(alive(pod)).toBe(true);
  });

  it('drops a page that does not read its messages instead of buffering them', async () => {
    const caller = await page();
    const callee = await page();
    send(caller, { id: 'register', name: 'loud' });
    send(callee, { id: 'register', name: 'deaf' });
    await answers(caller, 'registerResponse', 1);
    await answers(callee, 'registerResponse', 1);
    send(caller, { id: 'call', to: 'deaf', sdpOffer: 'v=0' });
    await answers(callee, 'incomingCall', 1);
    send(callee, { id: 'incomingCallResponse', from: 'loud', callResponse: 'accept', sdpAnswer: 'v=0' });
    await answers(caller, 'callResponse', 1);
    // the callee stops reading; the caller sends 160 MiB of candidates for it
    (callee.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = peakMiB(pod.child.pid!);
    const candidate = 'c'.repeat(200 * 1024);
    const dropped = () => pod.output().includes('dropping a WebSocket that does not read its messages');
    for (let i = 0; i < 800 && caller.ws.readyState === WebSocket.OPEN && !(i % 20 === 0 && dropped()); i++) {
      send(caller, { id: 'onIceCandidate', candidate });
      if (caller.ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 500));
    const grew = peakMiB(pod.child.pid!) - before;
    expect(grew).toBeLessThan(48);
    expect(pod.output()).toContain('dropping a WebSocket that does not read its messages');
    expect(alive(pod)).toBe(true);
    caller.ws.terminate();
    callee.ws.terminate();
  }, 30_000);
});

// ---- janus-echo ----

describe('janus-echo page server', () => {
  let pod: RunningPod;
  let base: string;

  beforeAll(async () => {
    const port = await freeTcpPort();
    pod = await startPod(freshChart('eu-west', 'janus'), 'janus-echo', {
      env: { PORT: String(port), STUNNER_AUTH_URL: iceUrl, JANUS_URL: janusUrl },
      ready: 'janus-echo page server ready',
    });
    base = `http://${pod.ip}:${port}`;
  }, 30_000);

  it('forwards Janus API requests', async () => {
    const post = await fetch(`${base}/janus`, {
      method: 'POST',
      body: '{"janus":"create","transaction":"t"}',
    });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ janus: 'success' });
    const poll = await fetch(`${base}/janus/8437207151712343?maxev=5&rid=1733400000000`);
    expect(poll.status).toBe(200);
    expect(janusAsked).toContain('/janus/8437207151712343?maxev=5&rid=1733400000000');
  });

  it('answers 413 to a 40 MiB body without holding it', async () => {
    const before = peakMiB(pod.child.pid!);
    const body = Buffer.alloc(40 * 1024 * 1024, 0x20);
    // declared, and streamed without a length
    const declared = await fetch(`${base}/janus`, { method: 'POST', body }).then(
      (r) => r.status,
      () => 0,
    );
    const streamed = await fetch(`${base}/janus`, {
      method: 'POST',
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit).then(
      (r) => r.status,
      (e: Error) => `closed (${e.message})`,
    );
    expect(declared).toBe(413);
    expect(streamed).toBe(413);
    expect(peakMiB(pod.child.pid!) - before).toBeLessThan(16);
    expect(alive(pod)).toBe(true);
  }, 20_000);

  it("answers 502 to Janus's 64 MiB answer without holding it", async () => {
    const before = peakMiB(pod.child.pid!);
    const r = await fetch(`${base}/janus/huge`);
    expect(r.status).toBe(502);
    expect(peakMiB(pod.child.pid!) - before).toBeLessThan(16);
    expect(alive(pod)).toBe(true);
  }, 20_000);

  it('refuses paths outside /janus', async () => {
    janusAsked.length = 0;
    const { request } = await import('node:http');
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: pod.ip, port: Number(new URL(base).port), path, method: 'GET' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      '/janus/../x',
      '/janus/..',
      '/janus/%2e%2e/x',
      '/janus/.%2e/admin',
      '/janus/1/../../x',
      '/janus/a%2f..%2fb',
      '/janus\\..\\x',
    ])
      expect([400, 404], path).toContain(await raw(path));
    expect(janusAsked).toEqual([]);
  });
});

// ---- udp-greeter ----

describe('udp-greeter', () => {
  it('answers a flood of datagrams with a bounded log, and lives on after one it cannot answer', async () => {
    const ip = loopback();
    const port = await freeUdpPort();
    const pod = await startPod(freshChart('eu-west', 'simple-tunnel'), 'udp-greeter', {
      ip,
      env: { PORT: String(port) },
      ready: 'udp-greeter ready',
    });
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    let answered = 0;
    s.on('message', () => answered++);
    try {
      // the largest IPv4 datagram: with the greeting in front, its answer cannot be sent
      s.send(Buffer.alloc(65507, 0x61), port, ip);
      for (let i = 0; i < 500; i++) {
        s.send(`hello ${i}`, port, ip);
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
      }
      const end = Date.now() + 3000;
      while (answered < 400 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      // loopback may drop a few of a burst
      expect(answered).toBeGreaterThanOrEqual(200);
      await new Promise((r) => setTimeout(r, 1100));
      // 20 lines a second, and a count of the rest: not a line per datagram
      const lines = pod
        .output()
        .split('\n')
        .filter((l) => / greeting /.test(l)).length;
      expect(lines, pod.output().slice(-2000)).toBeLessThanOrEqual(60);
      expect(pod.output()).toMatch(/more datagrams not logged/);
      expect(alive(pod)).toBe(true);
    } finally {
      s.close();
    }
  });
});
