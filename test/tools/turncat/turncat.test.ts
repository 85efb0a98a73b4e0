/**
 * turncat against a real relay on loopback: stdin/stdout (the bin, as a child process), a udp://
 * client with 1,000 datagrams, tcp:// clients, TURN-TCP and TURN-TLS, file:// configs (static and
 * a shared secret from --secret-file), and the 401/403 messages. The echo peer is a UDP socket
 * in this process: stop it and the echo tests go red.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTurnTarget } from '../../../tools/turncat/server.js';
import { main } from '../../../tools/turncat/turncat.js';
import { freePort, freeUdpPort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { UdpPeer } from '../../helpers/turn-client.js';
import { until } from '../../helpers/wait.js';

const TURNCAT_BIN = fileURLToPath(new URL('../../../bin/turncat.mjs', import.meta.url));

/** Collects a writable's output. */
function sink(): { stream: PassThrough; text: () => string; bytes: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return { stream, text: () => Buffer.concat(chunks).toString(), bytes: () => Buffer.concat(chunks) };
}

/** Runs turncat's main in this process; `stop()` is its Ctrl-C. */
function runTurncat(argv: string[]) {
  const stdin = new PassThrough();
  const stdout = sink();
  const stderr = sink();
  let stop: (() => Promise<void>) | undefined;
  const code = main(
    argv,
    { stdin, stdout: stdout.stream, stderr: stderr.stream },
    {
      signals: false,
      onReady: (s) => {
        stop = s;
      },
    },
  );
  return {
    stdin,
    stdout,
    stderr,
    code,
    ready: () => until('turncat is ready', () => stop !== undefined, 10_000),
    stop: async () => {
      await stop?.();
      return code;
    },
  };
}

describe('turncat', () => {
  let relay: InProcessStunnerd;
  let peer: UdpPeer;
  let dir: string;
  let udpPort: number;
  let tcpPort: number;
  let tlsPort: number;
  let ephPort: number;
  const SECRET = 'shared-secret';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'turncat-'));
    peer = await UdpPeer.open(true);
    udpPort = await freePort();
    tcpPort = await freePort();
    tlsPort = await freePort();
    const { cert, key } = await selfSignedCert();
    relay = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { name: 'stunner/gw', healthcheck_endpoint: '' },
        auth: { type: 'static', credentials: { username: 'user', password: 'pass' } },
        listeners: [
          {
            name: 'stunner/gw/udp',
            protocol: 'TURN-UDP',
            address: '127.0.0.1',
            port: udpPort,
            routes: ['echo'],
          },
          {
            name: 'stunner/gw/tcp',
            protocol: 'TURN-TCP',
            address: '127.0.0.1',
            port: tcpPort,
            routes: ['echo'],
          },
          {
            name: 'stunner/gw/tls',
            protocol: 'TURN-TLS',
            address: '127.0.0.1',
            port: tlsPort,
            cert,
            key,
            routes: ['echo'],
          },
        ],
        clusters: [{ name: 'echo', endpoints: ['127.0.0.1/32'] }],
      },
      { logLevel: 'all:ERROR' },
    );
    ephPort = await freePort();
    await writeFile(
      join(dir, 'ephemeral.json'),
      JSON.stringify({
        version: 'v1',
        admin: { name: 'stunner/eph' },
        auth: { type: 'ephemeral', credentials: {} },
        listeners: [{ name: 'stunner/eph/udp', address: '127.0.0.1', port: ephPort, routes: ['echo'] }],
        clusters: [{ name: 'echo', endpoints: ['127.0.0.1/32'] }],
      }),
    );
    await writeFile(
      join(dir, 'secret.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: { name: stunner-auth }\ndata:\n  secret: ${Buffer.from(SECRET).toString('base64')}\n`,
    );
    await writeFile(
      join(dir, 'static.yaml'),
      [
        'version: v1',
        'admin: { name: stunner/gw }',
        'auth: { type: static, credentials: { username: user, password: pass } }',
        'listeners:',
        `  - { name: stunner/gw/udp, protocol: TURN-UDP, address: 127.0.0.1, port: ${udpPort}, routes: [echo] }`,
        `  - { name: stunner/gw/tcp, protocol: TURN-TCP, address: 127.0.0.1, port: ${tcpPort}, routes: [echo] }`,
        'clusters: [{ name: echo, endpoints: [127.0.0.1/32] }]',
        '',
      ].join('\n'),
    );
  }, 30_000);

  afterAll(async () => {
    await relay?.stop();
    peer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const peerUri = () => `udp://127.0.0.1:${peer.address.port}`;

  it('tunnels stdin to a UDP echo peer and the echo to stdout (the bin, as a child process)', async () => {
    const before = peer.got.length;
    const proc = spawn(
      process.execPath,
      [
        TURNCAT_BIN,
        '--linger',
        '3000',
        '-',
        `turn://user:pass@127.0.0.1:${udpPort}?transport=udp`,
        peerUri(),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    try {
      // Until the allocation is up, stdin is buffered by the pipe; send once and wait.
      proc.stdin.write('hello through the gateway\n');
      await until('the echo on stdout', () => out.includes('hello through the gateway'), 20_000);
      expect(peer.got.length).toBeGreaterThan(before);
      proc.stdin.end();
      expect(await exit).toBe(0);
      // Ctrl-C/end of input sent Refresh(0): the relay holds no allocation of it any more.
      await until('the allocation is gone', () => relay.daemon.allocationCount() === 0, 5000);
    } finally {
      proc.kill('SIGKILL');
    }
    expect(err).toBe('');
  }, 40_000);

  it('carries 1,000 datagrams through a udp:// client at 0 loss, one allocation per source', async () => {
    const local = await freeUdpPort();
    const t = runTurncat([`udp://127.0.0.1:${local}`, `turn://user:pass@127.0.0.1:${udpPort}`, peerUri()]);
    const app = createSocket('udp4');
    await new Promise<void>((r) => app.bind(0, '127.0.0.1', r));
    const seen = new Set<number>();
    app.on('message', (m) => seen.add(m.readUInt32BE(0)));
    try {
      await t.ready();
      const first = Buffer.alloc(64);
      first.writeUInt32BE(0, 0);
      app.send(first, local, '127.0.0.1');
      await until('the first echo', () => seen.has(0), 10_000);
      for (let i = 1; i < 1000; i++) {
        const b = Buffer.alloc(64);
        b.writeUInt32BE(i, 0);
        app.send(b, local, '127.0.0.1');
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
        // a window of 100 in flight: a busy machine delays the processes, and the kernel drops what
        // overflows a socket buffer meanwhile, which is not what this test is about
        if (i - seen.size > 100) await until('the echoes to catch up', () => i - seen.size <= 50, 10_000);
      }
      await until('1,000 echoes', () => seen.size === 1000, 15_000);
      expect(relay.daemon.allocationCount()).toBe(1);
    } finally {
      app.close();
      expect(await t.stop()).toBe(0);
    }
    await until('Refresh(0) removed the allocation', () => relay.daemon.allocationCount() === 0, 5000);
  }, 40_000);

  it('gives each tcp:// connection its own allocation', async () => {
    const local = await freePort();
    const t = runTurncat([`tcp://127.0.0.1:${local}`, `turn://user:pass@127.0.0.1:${udpPort}`, peerUri()]);
    await t.ready();
    const conns = await Promise.all(
      [0, 1].map(
        (i) =>
          new Promise<{ got: () => string; end: () => void }>((resolve, reject) => {
            const s = connect(local, '127.0.0.1', () => {
              s.write(`conn-${i}`);
              resolve({ got: () => got, end: () => s.destroy() });
            });
            let got = '';
            s.on('data', (d: Buffer) => {
              got += d.toString();
            });
            s.once('error', reject);
          }),
      ),
    );
    try {
      await until('both echoes', () => conns[0]!.got() === 'conn-0' && conns[1]!.got() === 'conn-1', 10_000);
      expect(relay.daemon.allocationCount()).toBe(2);
    } finally {
      for (const c of conns) c.end();
      expect(await t.stop()).toBe(0);
    }
    await until('both allocations removed', () => relay.daemon.allocationCount() === 0, 5000);
  }, 30_000);

  for (const [name, server] of [
    ['TURN-TCP', () => `turn://user:pass@127.0.0.1:${tcpPort}?transport=tcp`],
    ['TURN-TLS', () => `turns://user:pass@127.0.0.1:${tlsPort}`],
  ] as const) {
    it(`tunnels over ${name}`, async () => {
      const t = runTurncat(['--insecure', '--linger', '2000', '-', server(), peerUri()]);
      await t.ready();
      t.stdin.write(`over ${name}`);
      await until(`the echo over ${name}`, () => t.stdout.text() === `over ${name}`, 10_000);
      t.stdin.end();
      expect(await t.code).toBe(0);
      expect(t.stderr.text()).toBe('');
    }, 20_000);
  }

  it('refuses a self-signed TURN-TLS certificate without --insecure', async () => {
    const t = runTurncat(['-', `turns://user:pass@127.0.0.1:${tlsPort}`, peerUri()]);
    expect(await t.code).toBe(1);
    expect(t.stderr.text()).toMatch(/^turncat: 127\.0\.0\.1:\d+\/tls is unreachable: .*certificate/);
  }, 20_000);

  it('reads address, port, transport and credentials from file://<dataplane config>#<listener>', async () => {
    const t = runTurncat(['--linger', '2000', '-', `file://${join(dir, 'static.yaml')}#tcp`, peerUri()]);
    await t.ready();
    t.stdin.write('from a file');
    await until('the echo', () => t.stdout.text() === 'from a file', 10_000);
    t.stdin.end();
    expect(await t.code).toBe(0);
  }, 20_000);

  it('reads the committed dist/ (file://<dist YAML>#<listener>): public address, port, transport, and the Secret it names from --secret-file', async () => {
    const dist = fileURLToPath(new URL('../../../dist/eu-west/media-gateway.k8s.yaml', import.meta.url));
    const secret = join(dir, 'stunner-auth.yaml');
    await writeFile(
      secret,
      'apiVersion: v1\nkind: Secret\nmetadata: { name: stunner-auth, namespace: stunner }\nstringData: { username: alice, password: wonderland }\n',
    );
    const target = await resolveTurnTarget(`file://${dist}#udp-listener`, { secretFile: secret });
    expect(target).toEqual({
      host: '198.51.100.10',
      port: 3478,
      transport: 'udp',
      username: 'alice',
      password: 'wonderland',
      listener: 'stunner/udp-gateway/udp-listener',
      realm: 'stunner.l7mp.io',
    });
    // Without the Secret: one line saying where the credentials come from and what to pass.
    const t = runTurncat(['-', `file://${dist}#udp-listener`, peerUri()]);
    expect(await t.code).toBe(2);
    expect(t.stderr.text()).toMatch(
      /^turncat: .*carries no username\/password .*--secret-file <secret\.yaml>\n$/,
    );
  });

  it('mints ephemeral credentials from a shared secret in --secret-file', async () => {
    const eph = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { name: 'stunner/eph', healthcheck_endpoint: '' },
        auth: { type: 'ephemeral', credentials: { secret: SECRET } },
        listeners: [{ name: 'stunner/eph/udp', address: '127.0.0.1', port: ephPort, routes: ['echo'] }],
        clusters: [{ name: 'echo', endpoints: ['127.0.0.1/32'] }],
      },
      { logLevel: 'all:ERROR' },
    );
    try {
      const file = `file://${join(dir, 'ephemeral.json')}#udp`;
      const missing = runTurncat(['-', file, peerUri()]);
      expect(await missing.code).toBe(2);
      expect(missing.stderr.text()).toMatch(/carries no shared secret .*--secret-file/);

      const t = runTurncat([
        '--secret-file',
        join(dir, 'secret.yaml'),
        '--linger',
        '2000',
        '-',
        file,
        peerUri(),
      ]);
      await t.ready();
      t.stdin.write('ephemeral');
      await until('the echo', () => t.stdout.text() === 'ephemeral', 10_000);
      t.stdin.end();
      expect(await t.code).toBe(0);
    } finally {
      await eph.stop();
    }
  }, 20_000);

  it('says a peer outside the routes gets 403, naming the listener', async () => {
    const t = runTurncat(['-', `file://${join(dir, 'static.yaml')}#udp`, 'udp://127.0.0.2:9']);
    expect(await t.code).toBe(1);
    expect(t.stderr.text()).toBe(
      'turncat: peer 127.0.0.2:9 is outside the routes of listener "stunner/gw/udp" (403 Forbidden): the gateway only relays to the clusters its routes attach\n',
    );
  }, 20_000);

  it('names the username and realm on 401', async () => {
    const t = runTurncat(['-', `turn://user:wrong@127.0.0.1:${udpPort}`, peerUri()]);
    expect(await t.code).toBe(1);
    expect(t.stderr.text()).toMatch(
      /^turncat: authentication failed \(401 [^)]*\): user "user" in realm "stunner\.l7mp\.io" was not accepted by 127\.0\.0\.1:\d+\n$/,
    );
  }, 20_000);

  it('says when the server is unreachable, within the timeout', async () => {
    const dead = await freeUdpPort();
    const t = runTurncat(['--timeout', '800', '-', `turn://user:pass@127.0.0.1:${dead}`, peerUri()]);
    expect(await t.code).toBe(1);
    expect(t.stderr.text()).toMatch(/^turncat: 127\.0\.0\.1:\d+\/udp is unreachable: /);
  }, 10_000);

  it('prints usage for --help (exit 0) and one line plus usage for bad arguments (exit 2)', async () => {
    const help = runTurncat(['--help']);
    expect(await help.code).toBe(0);
    expect(help.stdout.text()).toMatch(/^usage: turncat /);
    const bad = runTurncat(['-', 'http://x', 'udp://1.2.3.4:5']);
    expect(await bad.code).toBe(2);
    expect(bad.stderr.text().split('\n')[0]).toBe(
      'turncat: "http://x" is not a server: use turn://, turns://, file:// or k8s://',
    );
    const peerBad = runTurncat(['-', 'turn://u:p@h:1', 'tcp://1.2.3.4:5']);
    expect(await peerBad.code).toBe(2);
    expect(peerBad.stderr.text().split('\n')[0]).toBe(
      'turncat: peer "tcp://1.2.3.4:5" is not udp://<ip>:<port>',
    );
  });
});
