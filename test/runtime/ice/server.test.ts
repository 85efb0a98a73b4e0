import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StunnerConfig } from '../../../contract/config/index.js';
import { ConfigFiles } from '../../../runtime/ice/config-files.js';
import { IceAuthServer, REQUEST_DEADLINE_MS } from '../../../runtime/ice/server.js';
import { createAuthenticator } from '../../../runtime/policy/auth/authenticator.js';
import { sleep, until } from '../../helpers/wait.js';
import { ephemeralGateway, staticTlsGateway } from './fixtures.js';
import { expectRelayAccepts, expectRestCredential } from './rest-credential.js';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
/** The fixture gateway's shared secret, as the test knows it (not read back from the server). */
const SECRET = 'my-shared-secret';

let dir: string;
let server: IceAuthServer;
let files: ConfigFiles | undefined;
let base: string;

async function get(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

async function startWith(
  configs: StunnerConfig[],
  opts: ConstructorParameters<typeof IceAuthServer>[0] = {},
): Promise<void> {
  server = new IceAuthServer({ now: () => NOW_MS, ...opts });
  server.setConfigs(configs);
  const a = await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
}

/** GET `path` from `localAddress` on a fresh connection: the status, 0 when none came within 1 s. */
function fetchFrom(localAddress: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const u = new URL(base);
    const req = request(
      { host: u.hostname, port: Number(u.port), path, localAddress, agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end();
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ice-'));
});
afterEach(async () => {
  files?.stop();
  files = undefined;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /ice', () => {
  it('answers STUNner-shaped ICE configurations', async () => {
    await startWith([ephemeralGateway()]);
    const r = await get('/ice?service=turn&username=bob&ttl=3600&iceTransportPolicy=relay');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toEqual({
      iceServers: [
        {
          urls: ['turn:1.2.3.4:3478?transport=udp', 'turn:1.2.3.4:3478?transport=tcp'],
          username: `${1_800_000_000 + 3600}:bob`,
          credential: expect.any(String),
        },
      ],
      iceTransportPolicy: 'relay',
    });
    expectRestCredential(r.body.iceServers[0], { secret: SECRET, user: 'bob', expiry: NOW + 3600 });
    expectRelayAccepts(r.body.iceServers[0], ephemeralGateway().auth, NOW_MS);
  });

  it('defaults iceTransportPolicy to all and ttl to 86400', async () => {
    await startWith([ephemeralGateway()]);
    const r = await get('/ice?service=turn');
    expect(r.body.iceTransportPolicy).toBe('all');
    expect(r.body.iceServers[0].username).toBe(`${1_800_000_000 + 86400}:`);
    expectRestCredential(r.body.iceServers[0], { secret: SECRET, user: '', expiry: NOW + 86400 });
    expectRelayAccepts(r.body.iceServers[0], ephemeralGateway().auth, NOW_MS);
  });

  it('lowers a ttl above the cap to the cap (default one day): a year-long credential is not minted', async () => {
    await startWith([ephemeralGateway()]);
    expect(server.maxTtl).toBe(86400);
    const r = await get(`/ice?service=turn&username=eve&ttl=${365 * 86400}`);
    expect(r.status).toBe(200);
    expectRestCredential(r.body.iceServers[0], { secret: SECRET, user: 'eve', expiry: NOW + 86400 });
    // The relay takes it to the end of the granted day, and not a second longer.
    expectRelayAccepts(r.body.iceServers[0], ephemeralGateway().auth, NOW_MS + 86_400_000);
    const after = createAuthenticator(ephemeralGateway().auth, () => NOW_MS + 86_401_000);
    expect(after.lookup(r.body.iceServers[0].username)).toEqual({ ok: false, reason: 'expired' });
    const day = await get(`/?service=turn&username=eve&ttl=${365 * 86400}`);
    expect(day.body.ttl).toBe(86400);
    expectRestCredential(
      { username: day.body.username, credential: day.body.password },
      { secret: SECRET, user: 'eve', expiry: NOW + 86400 },
    );
  });

  it('a configured maxTtl caps the requested and the default ttl, and leaves shorter ones', async () => {
    await startWith([ephemeralGateway()], { maxTtl: 600 });
    for (const [q, ttl] of [
      ['&ttl=7200', 600],
      ['', 600],
      ['&ttl=60', 60],
      ['&ttl=600', 600],
    ] as const) {
      const r = await get(`/?service=turn&username=u${q}`);
      expect(r.body.ttl, q).toBe(ttl);
      expectRestCredential(
        { username: r.body.username, credential: r.body.password },
        { secret: SECRET, user: 'u', expiry: NOW + ttl },
      );
    }
    for (const bad of [0, 1.5, 365 * 86400 + 1])
      expect(() => new IceAuthServer({ maxTtl: bad }), String(bad)).toThrow(/max TTL/);
  });

  it('400 with a JSON message for a bad query', async () => {
    await startWith([ephemeralGateway()]);
    for (const [q, msg] of [
      ['', /"service" is required/],
      ['?service=turn&ttl=x', /"ttl"/],
      ['?service=turn&gateway=g', /needs "namespace"/],
      ['?service=turn&iceTransportPolicy=bogus', /iceTransportPolicy/],
    ] as const) {
      const r = await get(`/ice${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.status).toBe(400);
      expect(r.body.message).toMatch(msg);
    }
  });

  it('404 when no listener matches, 500 when no config is loaded', async () => {
    await startWith([ephemeralGateway()]);
    const r = await get('/ice?service=turn&namespace=media&gateway=other');
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('no listener matches gateway "media/other"');
    server.setConfigs([]);
    const r2 = await get('/ice?service=turn');
    expect(r2.status).toBe(500);
    expect(r2.body).toEqual({ status: 500, message: 'no STUNner config is loaded' });
  });

  it('turns: URIs for TLS listeners, with the address a watcher set', async () => {
    await startWith([staticTlsGateway()]);
    expect((await get('/ice?service=turn')).status).toBe(404);
    server.setPublicAddress('games/tls-gw', 'turn.example.com');
    const r = await get('/ice?service=turn&namespace=games&gateway=tls-gw&listener=tls');
    expect(r.body.iceServers).toEqual([
      { urls: ['turns:turn.example.com:443?transport=tcp'], username: 'user1', credential: 'pass$1' },
    ]);
    expectRelayAccepts(r.body.iceServers[0], staticTlsGateway().auth, NOW_MS);
    expect(() => server.setPublicAddress('games/tls-gw', 'not an address!')).toThrow(/neither an IP address/);
  });
});

describe('GET / (TURN REST API)', () => {
  it('answers {username, password, ttl, uris}', async () => {
    await startWith([ephemeralGateway()]);
    const r = await get('/?service=turn&username=carol&ttl=120');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      username: `${1_800_000_000 + 120}:carol`,
      password: expect.any(String),
      ttl: 120,
      uris: ['turn:1.2.3.4:3478?transport=udp', 'turn:1.2.3.4:3478?transport=tcp'],
    });
    const c = { username: r.body.username, credential: r.body.password };
    expectRestCredential(c, { secret: SECRET, user: 'carol', expiry: NOW + 120 });
    expectRelayAccepts(c, ephemeralGateway().auth, NOW_MS);
  });

  it('400 without service=turn', async () => {
    await startWith([ephemeralGateway()]);
    const r = await get('/?service=stun');
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/must be "turn"/);
  });
});

describe('hardening', () => {
  it('refuses other methods, unknown paths and huge URLs with short JSON answers', async () => {
    await startWith([ephemeralGateway()]);
    const post = await get('/ice?service=turn', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/nope')).status).toBe(404);
    const long = await get(`/ice?service=turn&x=${'a'.repeat(5000)}`);
    expect(long.status).toBe(414);
    expect(long.body.message).toMatch(/longer than/);
  });

  it('an internal failure is a 500 without a stack trace', async () => {
    await startWith([{ ...ephemeralGateway(), listeners: null } as unknown as StunnerConfig]);
    const res = await fetch(`${base}/ice?service=turn`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ status: 500, message: 'internal error' });
    expect(text).not.toMatch(/TypeError|\bat\b|\.ts/);
  });

  it('closes connections over the per-IP cap at accept; other IPs and freed slots are served', async () => {
    await startWith([ephemeralGateway()], { maxConnectionsPerIp: 2 });
    const port = Number(new URL(base).port);
    const open = (localAddress: string) =>
      new Promise<{ socket: Socket; closed: Promise<void> }>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, localAddress });
        socket.on('error', () => {});
        const closed = new Promise<void>((r) => socket.once('close', () => r()));
        socket.once('connect', () => resolve({ socket, closed }));
      });
    const a = await open('127.0.0.1');
    const b = await open('127.0.0.1');
    const c = await open('127.0.0.1');
    await c.closed; // the third from one IP
    await until('the server to count the refusal', () => server.connectionStats().refusedPerIp === 1);
    const other = await fetchFrom('127.0.0.2', '/live');
    expect(other).toBe(200);
    a.socket.destroy();
    await until('the freed slot', () => server.connectionStats().open === 1);
    expect(await fetchFrom('127.0.0.1', '/live')).toBe(200);
    b.socket.destroy();
    expect(() => new IceAuthServer({ maxConnectionsPerIp: 0 })).toThrow(/per IP/);
  });

  it('closes a connection that sends no complete request head within the deadline', async () => {
    await startWith([ephemeralGateway()]);
    const port = Number(new URL(base).port);
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    const opened = Date.now();
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - opened)));
    socket.write('GET /ice?service=turn HTTP/1.1\r\nHost: x\r\n');
    const held = await Promise.race([closed, sleep(REQUEST_DEADLINE_MS + 2000).then(() => -1)]);
    socket.destroy();
    expect(held).toBeGreaterThanOrEqual(REQUEST_DEADLINE_MS - 100);
    expect(held).toBeLessThan(REQUEST_DEADLINE_MS + 1000);
    expect(server.connectionStats().deadlineClosed).toBe(1);
  }, 15_000);

  it('probes: /live always, /ready once a config is loaded', async () => {
    await startWith([]);
    expect((await get('/live')).status).toBe(200);
    expect((await get('/ready')).status).toBe(503);
    server.setConfigs([ephemeralGateway()]);
    expect((await get('/ready')).status).toBe(200);
  });
});

describe('mounted config files', () => {
  it('loads a directory, reloads on change, keeps the last good config, drops removed files', async () => {
    await startWith([]);
    const a = join(dir, 'a.json');
    await writeFile(a, JSON.stringify(ephemeralGateway()));
    await writeFile(join(dir, '.hidden'), 'not a config');
    files = new ConfigFiles({
      paths: [dir],
      pollIntervalMs: 100,
      onChange: (c) => server.setConfigs(c.values()),
    });
    await files.start();
    expect(files.configs().size).toBe(1);
    expect((await get('/ice?service=turn')).body.iceServers[0].urls[0]).toBe(
      'turn:1.2.3.4:3478?transport=udp',
    );

    // A second gateway appears, as another ConfigMap key would.
    await writeFile(join(dir, 'b.yaml'), JSON.stringify({ ...staticTlsGateway(), listeners: [] }));
    const changed = ephemeralGateway(4000);
    await writeFile(a, JSON.stringify(changed));
    await until(
      'the changed port in /ice',
      async () =>
        (await get('/ice?service=turn')).body.iceServers?.[0].urls[0].endsWith(':4000?transport=udp'),
      5000,
    );
    expect(files.configs().size).toBe(2);

    // A broken edit keeps the last good config serving.
    await writeFile(a, '{"version": "v1", "auth": {"type": "nope"');
    await new Promise((r) => setTimeout(r, 400));
    expect((await get('/ice?service=turn')).body.iceServers[0].urls[0]).toBe(
      'turn:1.2.3.4:4000?transport=udp',
    );

    await unlink(a);
    await until(
      'a 404 once the file is gone',
      async () => (await get('/ice?service=turn')).status === 404,
      5000,
    );
  });

  it('follows a ConfigMap mount: the kubelet swaps the ..data symlink atomically', async () => {
    await startWith([]);
    // Layout as the kubelet writes it: ..<timestamp>/ holds the files, ..data points at it, and
    // each key is a symlink through ..data.
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'stunnerd.conf'), JSON.stringify(ephemeralGateway(3478)));
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'stunnerd.conf'), join(dir, 'stunnerd.conf'));
    files = new ConfigFiles({
      paths: [dir],
      pollIntervalMs: 100,
      onChange: (c) => server.setConfigs(c.values()),
    });
    await files.start();
    expect([...files.configs().keys()]).toEqual([join(dir, 'stunnerd.conf')]);
    expect((await get('/ice?service=turn')).body.iceServers[0].urls[0]).toBe(
      'turn:1.2.3.4:3478?transport=udp',
    );

    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'stunnerd.conf'), JSON.stringify(ephemeralGateway(5000)));
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await rm(join(dir, '..v1'), { recursive: true });
    await until(
      'the swapped config in /ice',
      async () =>
        (await get('/ice?service=turn')).body.iceServers?.[0].urls[0] === 'turn:1.2.3.4:5000?transport=udp',
      5000,
    );
  });

  it('says once that a config path does not exist, and picks it up when it appears', async () => {
    const warnings: string[] = [];
    const infos: string[] = [];
    const f = join(dir, 'late.json');
    files = new ConfigFiles({
      paths: [f],
      pollIntervalMs: 100,
      logger: { error() {}, warn: (m) => warnings.push(m), info: (m) => infos.push(m), debug() {} },
    });
    await files.start();
    await files.scan();
    expect(warnings).toEqual([`config path ${f}: ENOENT; skipped`]);
    await writeFile(f, JSON.stringify(ephemeralGateway()));
    await until('the late file to load', () => files!.configs().size === 1, 5000);
    expect(infos).toContain(`config path ${f} appeared`);
  });

  it('does not expand $STUNNER_ADDR to the auth service pod address', async () => {
    const f = join(dir, 'stunnerd.conf');
    const c = ephemeralGateway();
    await writeFile(
      f,
      JSON.stringify({
        ...c,
        listeners: c.listeners.map((l) => ({ ...l, address: '$STUNNER_ADDR', public_address: undefined })),
      }),
    );
    const prev = process.env['STUNNER_ADDR'];
    process.env['STUNNER_ADDR'] = '10.9.9.9';
    try {
      files = new ConfigFiles({ paths: [f] });
      await files.start();
    } finally {
      if (prev === undefined) delete process.env['STUNNER_ADDR'];
      else process.env['STUNNER_ADDR'] = prev;
    }
    expect([...files.configs().values()][0]!.listeners[0]!.address).toBe('0.0.0.0');
  });
});

describe('configs as the gateway construct renders them', () => {
  it('accepts TLS listeners without cert/key (the auth service is not given private keys)', async () => {
    const f = join(dir, 'stunnerd.conf');
    const c = staticTlsGateway();
    await writeFile(
      f,
      JSON.stringify({ ...c, listeners: c.listeners.map(({ cert: _c, key: _k, ...l }) => l) }),
    );
    files = new ConfigFiles({ paths: [f] });
    await files.start();
    expect(files.configs().size).toBe(1);
  });

  it('refuses a config without credentials (not injected), and says why', async () => {
    const f = join(dir, 'stunnerd.conf');
    const c = ephemeralGateway();
    await writeFile(f, JSON.stringify({ ...c, auth: { ...c.auth, credentials: {} } }));
    const errors: string[] = [];
    files = new ConfigFiles({
      paths: [f],
      logger: { error: (m) => errors.push(m), warn() {}, info() {}, debug() {} },
    });
    await files.start();
    expect(files.configs().size).toBe(0);
    expect(errors.join('\n')).toMatch(/auth\.credentials\.secret: is required for ephemeral auth/);
  });
});
